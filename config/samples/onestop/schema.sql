-- config/samples/onestop/schema.sql - a sample dossier table of a one-stop-shop system
-- (hệ thống một cửa), the kind of table whose changes Debezium reads into Kafka for chiso.
--
-- One row per dossier (hồ sơ); the row is updated in place as the dossier moves on, so the
-- change stream carries the whole history: an INSERT at receipt, an UPDATE at every step.
-- Times are `timestamp` (without time zone): naive local time in Asia/Ho_Chi_Minh, as these
-- systems store them. Debezium (time.precision.mode=adaptive, its default) sends each as
-- epoch microseconds of that naive value read as if it were UTC; a consumer has to put the
-- +07:00 back.
--
-- REPLICA IDENTITY FULL makes PostgreSQL log the whole old row on UPDATE and DELETE, so every
-- Debezium update carries `before` as well as `after`, and a delete carries the deleted row.
--
-- Load with: scripts/postgres psql -f config/samples/onestop/schema.sql
CREATE TABLE ho_so (
  id bigserial PRIMARY KEY,
  ma_ho_so varchar(64) NOT NULL UNIQUE,      -- dossier code
  ma_don_vi varchar(64) NOT NULL,            -- the receiving unit's code in the one-stop system
  ma_tthc varchar(32),                       -- procedure code
  trang_thai smallint NOT NULL,              -- 1 submitted, 2 received, 3 refused, 4 processing, 5 supplement requested, 6 financial obligation, 7 withdrawn, 8 stopped, 9 processed, 10 returned
  kenh smallint NOT NULL DEFAULT 1,          -- 1 direct, 2 online, 3 postal
  ngay_tiep_nhan timestamp,                  -- naive local time (Asia/Ho_Chi_Minh), as these systems store it
  ngay_hen_tra timestamp,                    -- the due time set at receipt
  ngay_yeu_cau_bo_sung timestamp,            -- latest supplement round: requested
  ngay_nhan_bo_sung timestamp,               -- latest supplement round: papers received
  ngay_hen_tra_moi timestamp,                -- latest supplement round: the new due time
  so_lan_bo_sung smallint NOT NULL DEFAULT 0,-- supplement rounds so far
  ngay_ket_thuc_xu_ly timestamp,             -- processing finished (status 9)
  ngay_tra timestamp,                        -- result returned to the applicant (status 10)
  ngay_tu_choi timestamp,                    -- refused (status 3)
  ngay_rut timestamp,                        -- withdrawn by the applicant (status 7)
  co_phi boolean NOT NULL DEFAULT false,     -- the procedure has a fee
  thanh_toan_truc_tuyen smallint NOT NULL DEFAULT 0, -- 0 none, 1 national portal, 2 provincial gateway
  da_so_hoa boolean NOT NULL DEFAULT false,  -- the papers were digitised
  ket_qua_dien_tu boolean NOT NULL DEFAULT false, -- an electronic result was issued
  cap_nhat_luc timestamp NOT NULL DEFAULT localtimestamp -- last update of the row (naive local)
);
ALTER TABLE ho_so REPLICA IDENTITY FULL;
