-- config/samples/onestop/scenario.sql - a short September 2025 in the sample one-stop table of
-- schema.sql: seven dossiers of two units, STP (Sở Tư pháp) and SYT (Sở Y tế), as their
-- one-stop system writes them. Every statement is its own transaction (psql's autocommit), so
-- each one is one Debezium change record: 7 inserts (op c), 12 updates (op u), 1 delete (op d,
-- followed by a tombstone in the envelope topic).
--
-- Times are naive local time (Asia/Ho_Chi_Minh), cap_nhat_luc included: it is set in every
-- statement, so that the records are the same on every run.
--
-- Run after the connector is RUNNING: scripts/postgres psql -f config/samples/onestop/scenario.sql

-- 1. STP-2025-000101, received at the desk on Wed 3 Sep, due Wed 10 Sep 17:00:
--    processed on Tue 9 Sep and returned on the due day, so on time.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra, cap_nhat_luc)
VALUES ('STP-2025-000101', 'STP', '2.000815', 2, 1, '2025-09-03 08:15:00', '2025-09-10 17:00:00', '2025-09-03 08:15:00');
UPDATE ho_so SET trang_thai = 4, cap_nhat_luc = '2025-09-03 14:00:00' WHERE ma_ho_so = 'STP-2025-000101';
UPDATE ho_so SET trang_thai = 9, ngay_ket_thuc_xu_ly = '2025-09-09 10:30:00', cap_nhat_luc = '2025-09-09 10:30:00'
WHERE ma_ho_so = 'STP-2025-000101';
UPDATE ho_so SET trang_thai = 10, ngay_tra = '2025-09-10 09:00:00', ket_qua_dien_tu = true, cap_nhat_luc = '2025-09-10 09:00:00'
WHERE ma_ho_so = 'STP-2025-000101';

-- 2. STP-2025-000102, submitted online with its fee paid on the national portal, papers
--    digitised; one supplement round: requested Mon 8 Sep, papers received Wed 10 Sep with a
--    new due time of Wed 17 Sep 17:00; processed Tue 16 Sep.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra,
                   co_phi, thanh_toan_truc_tuyen, da_so_hoa, cap_nhat_luc)
VALUES ('STP-2025-000102', 'STP', '1.001756', 2, 2, '2025-09-04 09:00:00', '2025-09-11 17:00:00',
        true, 1, true, '2025-09-04 09:00:00');
UPDATE ho_so SET trang_thai = 5, ngay_yeu_cau_bo_sung = '2025-09-08 14:00:00', cap_nhat_luc = '2025-09-08 14:00:00'
WHERE ma_ho_so = 'STP-2025-000102';
UPDATE ho_so SET trang_thai = 4, ngay_nhan_bo_sung = '2025-09-10 08:30:00', ngay_hen_tra_moi = '2025-09-17 17:00:00',
                 so_lan_bo_sung = 1, cap_nhat_luc = '2025-09-10 08:30:00'
WHERE ma_ho_so = 'STP-2025-000102';
UPDATE ho_so SET trang_thai = 9, ngay_ket_thuc_xu_ly = '2025-09-16 15:00:00', ket_qua_dien_tu = true,
                 cap_nhat_luc = '2025-09-16 15:00:00'
WHERE ma_ho_so = 'STP-2025-000102';

-- 3. SYT-2025-000201, received Fri 5 Sep, due Fri 12 Sep 17:00, processed Mon 15 Sep: late.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra, cap_nhat_luc)
VALUES ('SYT-2025-000201', 'SYT', '1.004616', 2, 1, '2025-09-05 10:00:00', '2025-09-12 17:00:00', '2025-09-05 10:00:00');
UPDATE ho_so SET trang_thai = 9, ngay_ket_thuc_xu_ly = '2025-09-15 11:00:00', cap_nhat_luc = '2025-09-15 11:00:00'
WHERE ma_ho_so = 'SYT-2025-000201';
--    The system writes the row again with nothing changed but cap_nhat_luc (a re-save): an
--    update whose before and after differ in that one column only.
UPDATE ho_so SET cap_nhat_luc = '2025-09-15 16:20:00' WHERE ma_ho_so = 'SYT-2025-000201';

-- 4. SYT-2025-000202, received Mon 8 Sep, due Fri 19 Sep 17:00; a supplement is requested on
--    Thu 11 Sep, then the status jumps straight to 9 (processed) with no ngay_ket_thuc_xu_ly
--    and no papers-received time: a "squashed" status, as some systems write it.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra, cap_nhat_luc)
VALUES ('SYT-2025-000202', 'SYT', '1.004616', 2, 1, '2025-09-08 08:00:00', '2025-09-19 17:00:00', '2025-09-08 08:00:00');
UPDATE ho_so SET trang_thai = 5, ngay_yeu_cau_bo_sung = '2025-09-11 09:00:00', cap_nhat_luc = '2025-09-11 09:00:00'
WHERE ma_ho_so = 'SYT-2025-000202';
UPDATE ho_so SET trang_thai = 9, cap_nhat_luc = '2025-09-18 10:00:00' WHERE ma_ho_so = 'SYT-2025-000202';

-- 5. STP-2025-000103, submitted online on Mon 15 Sep in the evening (status 1, not received
--    yet: no ngay_tiep_nhan), refused on Tue 16 Sep.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, cap_nhat_luc)
VALUES ('STP-2025-000103', 'STP', '2.000815', 1, 2, '2025-09-15 20:10:00');
UPDATE ho_so SET trang_thai = 3, ngay_tu_choi = '2025-09-16 08:45:00', cap_nhat_luc = '2025-09-16 08:45:00'
WHERE ma_ho_so = 'STP-2025-000103';

-- 6. SYT-2025-000203, received by post on Wed 17 Sep, due Fri 26 Sep 17:00, withdrawn by the
--    applicant on Fri 19 Sep.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra, cap_nhat_luc)
VALUES ('SYT-2025-000203', 'SYT', '1.002399', 2, 3, '2025-09-17 14:00:00', '2025-09-26 17:00:00', '2025-09-17 14:00:00');
UPDATE ho_so SET trang_thai = 7, ngay_rut = '2025-09-19 10:00:00', cap_nhat_luc = '2025-09-19 10:00:00'
WHERE ma_ho_so = 'SYT-2025-000203';

-- 7. SYT-2025-000299, entered by mistake on Mon 22 Sep and deleted by an administrator.
INSERT INTO ho_so (ma_ho_so, ma_don_vi, ma_tthc, trang_thai, kenh, ngay_tiep_nhan, ngay_hen_tra, cap_nhat_luc)
VALUES ('SYT-2025-000299', 'SYT', '1.004616', 2, 1, '2025-09-22 08:00:00', '2025-09-29 17:00:00', '2025-09-22 08:00:00');
DELETE FROM ho_so WHERE ma_ho_so = 'SYT-2025-000299';
