-- ログインユーザの部署と備考 (seed 001's ログインユーザ追加・編集).
ALTER TABLE "login_users" ADD COLUMN "department" TEXT;
ALTER TABLE "login_users" ADD COLUMN "note" TEXT;
