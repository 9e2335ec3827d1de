-- Identity documents seed 001 and 003 also take: 各種福祉手帳 (with a photo: one is enough) and
-- 学生証 (without a photo: two documents are needed).
ALTER TYPE "DocumentType" ADD VALUE 'welfare_certificate';
ALTER TYPE "DocumentType" ADD VALUE 'student_id';
