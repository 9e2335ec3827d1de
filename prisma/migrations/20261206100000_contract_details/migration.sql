-- The rest of seed 001's 契約者情報: 事業形態, 申請部署, 申請者氏名, メールアドレス, 住所 (郵便番号,
-- 都道府県, 市区町村・番地, 建物名), 電話番号, 業種, メールでのお知らせ — one JSON document.
ALTER TABLE "tenants" ADD COLUMN "contract_details" JSONB;
