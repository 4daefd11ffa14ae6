-- Fixture for the report/diff golden tests (see fixture.sh).
-- Scan 1 "before" (done) and scan 2 "after" (done) differ in every way
-- `tlsweep diff` reports; scan 3 is interrupted.  Hostile values: markup
-- in certificate subjects and issuers, ESC sequences, quotes, commas,
-- newlines, formula prefixes and invalid UTF-8 (X'..' blobs cast to text).
BEGIN;
INSERT INTO scans(id, label, started_at, finished_at, status) VALUES
 (1, 'before', '2026-01-01T00:00:00Z', '2026-01-01T00:05:00Z', 'done'),
 (2, 'after <b>"change"</b>', '2026-01-10T00:00:00Z', '2026-01-10T00:02:30Z', 'done'),
 (3, 'half', '2026-01-11T00:00:00Z', '2026-01-11T00:00:10Z', 'interrupted');

INSERT INTO certs(sha256, subject, issuer, not_before, not_after, key_type, key_bits, sig_alg, san) VALUES
 ('aa01', 'CN=good.example', 'CN=Test Intermediate', '2025-01-01T00:00:00Z', '2026-12-31T00:00:00Z', 'EC', 256, 'ecdsa-with-SHA256', 'DNS:good.example'),
 ('aa02', 'CN=Test Intermediate', 'CN=Test Root', '2024-01-01T00:00:00Z', '2030-01-01T00:00:00Z', 'EC', 384, 'ecdsa-with-SHA384', NULL),
 ('aa03', 'CN=expired.example', 'CN=Test Intermediate', '2024-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'RSA', 2048, 'sha256WithRSAEncryption', 'DNS:other.example'),
 ('aa04', 'CN=<script>document.title=''pwned''</script>,O=Evil "Corp", Inc.', '<img src=x onerror="document.title=''pwned''">' || char(27) || '[31mRED' || char(27) || '[0m', '2025-06-01T00:00:00Z', '2026-02-01T00:00:00Z', 'RSA', 1024, 'sha1WithRSAEncryption', 'DNS:evil.example'),
 ('aa05', 'CN=soon.example', 'CN=Test Intermediate', '2025-01-15T00:00:00Z', '2026-01-15T00:00:00Z', 'EC', 256, 'ecdsa-with-SHA256', 'DNS:soon.example'),
 ('aa06', 'CN=rotated.example', 'CN=Test Intermediate', '2025-01-20T00:00:00Z', '2026-01-20T00:00:00Z', 'EC', 256, 'ecdsa-with-SHA256', 'DNS:rotated.example'),
 ('aa07', 'CN=rotated.example', 'CN=Test Intermediate', '2026-01-05T00:00:00Z', '2027-01-20T00:00:00Z', 'EC', 256, 'ecdsa-with-SHA256', 'DNS:rotated.example'),
 ('aa08', 'CN=' || CAST(X'C0AFE282' AS TEXT) || 'bad-utf8.example', 'CN=Test Intermediate', '2025-01-01T00:00:00Z', '2026-06-01T00:00:00Z', 'EC', 256, 'ecdsa-with-SHA256', NULL);

-- Scan 1 (before).
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) VALUES
 (101, 1, 'good.example', 'good.example', '10.0.0.1', 443, 'good.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A+', 'aa01', NULL, 12, '2026-01-01T00:00:01Z'),
 (102, 1, 'refused.example', 'refused.example', '10.0.0.2', 443, 'refused.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'A', 'aa01', NULL, 10, '2026-01-01T00:00:01Z'),
 (103, 1, 'legacy.example', 'legacy.example', '10.0.0.4', 443, 'legacy.example', 'ok', 'ok', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'B', 'aa01', NULL, 10, '2026-01-01T00:00:01Z'),
 (104, 1, 'soon.example', 'soon.example', '10.0.0.7', 443, 'soon.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa05', NULL, 10, '2026-01-01T00:00:01Z'),
 (105, 1, 'rotated.example', 'rotated.example', '10.0.0.8', 443, 'rotated.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'A-', 'aa06', NULL, 10, '2026-01-01T00:00:01Z'),
 (106, 1, 'fixed.example', 'fixed.example', '10.0.0.9', 443, 'fixed.example', 'tcp_timeout', 'tcp_timeout', NULL, NULL, NULL, NULL, 'connect timer fired after 5000 ms', 5000, '2026-01-01T00:00:01Z'),
 (107, 1, 'classchg.example', 'classchg.example', '10.0.0.11', 443, 'classchg.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa01', NULL, 10, '2026-01-01T00:00:01Z'),
 (108, 1, 'dns.example', 'dns.example', '', 443, 'dns.example', 'dns_nxdomain', 'dns_nxdomain', NULL, NULL, NULL, NULL, 'NXDOMAIN', 3, '2026-01-01T00:00:01Z'),
 (109, 1, 'better.example', 'better.example', '10.0.0.13', 443, 'better.example', 'self_signed', 'self_signed', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'T', 'aa01', NULL, 10, '2026-01-01T00:00:01Z'),
 (110, 1, 'vanished.example', 'vanished.example', '10.0.0.14', 443, 'vanished.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa01', NULL, 10, '2026-01-01T00:00:01Z'),
 (111, 1, 'moved.example', 'moved.example', '10.0.0.15', 443, 'moved.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A+', 'aa01', NULL, 10, '2026-01-01T00:00:01Z');

-- Scan 2 (after).
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) VALUES
 (201, 2, 'good.example', 'good.example', '10.0.0.1', 443, 'good.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A+', 'aa01', NULL, 12, '2026-01-10T00:00:01Z'),
 (202, 2, 'refused.example', 'refused.example', '10.0.0.2', 443, 'refused.example', 'tcp_refused', 'tcp_refused', NULL, NULL, NULL, NULL, 'connect: Connection refused', 1, '2026-01-10T00:00:01Z'),
 (203, 2, 'expired.example', 'expired.example', '10.0.0.3', 443, 'expired.example', 'cert_expired', 'cert_expired,hostname_mismatch', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'T', 'aa03', 'verify: certificate has expired; name not in SAN', 15, '2026-01-10T00:00:01Z'),
 (204, 2, 'legacy.example', 'legacy.example', '10.0.0.4', 443, 'legacy.example', 'ok', 'ok', 'TLSv1', 'ECDHE-RSA-AES128-SHA', 'C', 'aa01', NULL, 10, '2026-01-10T00:00:01Z'),
 (205, 2, '=HYPERLINK("http://evil.example/x")', 'evil.example', '10.0.0.5', 443, '@evil.example', 'weak_key', 'weak_key,weak_signature', 'TLSv1.1', 'ECDHE-RSA-AES128-SHA', 'F', 'aa04', 'line one' || char(10) || 'line two, "quoted" ' || char(27) || ']0;owned' || char(7) || char(27) || '[2J<script>document.title=''pwned''</script> ' || CAST(X'FF' AS TEXT) || ' -cmd|calc', 20, '2026-01-10T00:00:01Z'),
 (206, 2, '[2001:db8::1]:8443 -', 'v6.example', '2001:db8::1', 8443, NULL, 'sni_required', 'sni_required', NULL, NULL, NULL, NULL, 'handshake_failure without SNI; completes with SNI', 8, '2026-01-10T00:00:01Z'),
 (207, 2, 'soon.example', 'soon.example', '10.0.0.7', 443, 'soon.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa05', NULL, 10, '2026-01-10T00:00:01Z'),
 (208, 2, 'rotated.example', 'rotated.example', '10.0.0.8', 443, 'rotated.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa07', NULL, 10, '2026-01-10T00:00:01Z'),
 (209, 2, 'fixed.example', 'fixed.example', '10.0.0.9', 443, 'fixed.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa01', NULL, 10, '2026-01-10T00:00:01Z'),
 (210, 2, 'newhost.example', 'newhost.example', '10.0.0.10', 443, 'newhost.example', 'ok', 'ok', 'TLSv1.2', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'B', 'aa08', NULL, 10, '2026-01-10T00:00:01Z'),
 (211, 2, 'classchg.example', 'classchg.example', '10.0.0.11', 443, 'classchg.example', 'incomplete_chain', 'incomplete_chain', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'aa01', 'issuer not sent', 10, '2026-01-10T00:00:01Z'),
 (212, 2, 'dns.example', 'dns.example', '', 443, 'dns.example', 'dns_nxdomain', 'dns_nxdomain', NULL, NULL, NULL, NULL, 'NXDOMAIN', 3, '2026-01-10T00:00:01Z'),
 (213, 2, 'better.example', 'better.example', '10.0.0.13', 443, 'better.example', 'weak_signature', 'weak_signature', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'T', 'aa01', NULL, 10, '2026-01-10T00:00:01Z'),
 (214, 2, 'moved.example', 'moved.example', '10.0.0.16', 443, 'moved.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A+', 'aa01', NULL, 10, '2026-01-10T00:00:01Z');

-- Scan 3 (interrupted).
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) VALUES
 (301, 3, 'good.example', 'good.example', '10.0.0.1', 443, 'good.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A+', 'aa01', NULL, 12, '2026-01-11T00:00:01Z');

-- Grade caps (schema step 3), one with hostile text.
INSERT INTO grade_reasons(result_id, code, text, cap) VALUES
 (204, 'tls10_or_11', 'TLS 1.0 or TLS 1.1 is supported (C42)', 'B'),
 (204, 'no_aead', 'no AEAD cipher suites (C38)', 'B'),
 (205, 'weak_key', 'key < 2048 bits <b>|' || char(27) || '[1m', 'F');

-- Mozilla compliance (issue 13): legacy.example newly fails intermediate
-- (TLS 1.0 in scan 2); good.example passes intermediate in both scans.
INSERT INTO compliance(result_id, profile, guideline, pass, failed_checks, warnings) VALUES
 (101, 'modern', '6.0', 1, '', ''), (101, 'intermediate', '6.0', 1, '', ''),
 (101, 'old', '5.8', 0, 'certificate_types,certificate_signatures', ''),
 (201, 'modern', '6.0', 1, '', ''), (201, 'intermediate', '6.0', 1, '', ''),
 -- The second check is hostile (a tampered database): every format escapes it.
 (201, 'old', '5.8', 0, 'certificate_types,<b>|*' || char(27) || '[1m', ''),
 (103, 'modern', '6.0', 0, 'tls_versions,ciphers', ''), (103, 'intermediate', '6.0', 1, '', 'tls_curves'),
 (103, 'old', '5.8', 1, '', ''),
 (204, 'modern', '6.0', 0, 'tls_versions,ciphers', ''),
 (204, 'intermediate', '6.0', 0, 'tls_versions,ciphers', ''), (204, 'old', '5.8', 1, '', '');
-- Issue 16: what good.example accepts (enumeration of a graded scan): it
-- negotiates TLSv1.3 but still accepts SSLv3 and TLSv1, so it counts as
-- legacy TLS; legacy.example accepts TLSv1 (its grade cap names it).
INSERT INTO protocols(result_id, protocol, accepted, server_preference) VALUES
 (201, 'SSLv3', 1, 1), (201, 'TLSv1', 1, 1), (201, 'TLSv1.1', 0, NULL),
 (201, 'TLSv1.2', 1, 1), (201, 'TLSv1.3', 1, 1),
 (204, 'TLSv1', 1, 1), (204, 'TLSv1.2', 1, 1);

INSERT INTO result_chain(result_id, depth, cert_sha256) VALUES
 (101, 0, 'aa01'), (101, 1, 'aa02'), (201, 0, 'aa01'), (201, 1, 'aa02'),
 (203, 0, 'aa03'), (203, 1, 'aa02'), (205, 0, 'aa04'), (205, 1, 'aa02'),
 (207, 0, 'aa05'), (208, 0, 'aa07'), (208, 1, 'aa02'), (210, 0, 'aa08'),
 (211, 0, 'aa01'), (213, 0, 'aa01'), (214, 0, 'aa01'), (204, 0, 'aa01'), (209, 0, 'aa01');
COMMIT;
