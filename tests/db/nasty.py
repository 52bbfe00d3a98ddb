"""A "nasty" set of tables for dump fidelity tests: every awkward type and object kind.

``create_nasty(conn, prefix)`` fills the connection's database with tables named with
``prefix`` (plus one table without it), views (one on another), a trigger, a procedure,
a function, foreign keys, a table without a primary key, latin1 and utf8mb4 tables, a
16 MB row and data containing the literal text ``#__`` and the prefix itself.
"""

from __future__ import annotations

BIG_ROW_BYTES = 16 * 1024 * 1024


def create_nasty(conn, prefix: str, *, big_row: bool = True, map_rows: int = 3000) -> None:
    p = prefix
    statements = [
        f"""CREATE TABLE `{p}types` (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            ti TINYINT, si SMALLINT UNSIGNED, bi BIGINT UNSIGNED, dec1 DECIMAL(30,10),
            fl FLOAT, db DOUBLE, b13 BIT(13), b64 BIT(64),
            en ENUM('a','b','ü','x y'), st SET('x','y','z'),
            js JSON, d DATE, dt DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(3), yr YEAR,
            ch CHAR(10), vc VARCHAR(255), tx TEXT, bl BLOB, vb VARBINARY(64), bn BINARY(4),
            gv INT AS (ti * 2) VIRTUAL, gs VARCHAR(300) AS (CONCAT(vc, '!')) PERSISTENT,
            pt POINT, geo GEOMETRY,
            KEY `{p}types_vc` (vc)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
        f"""INSERT INTO `{p}types` (id) VALUES (1)""",  # every column NULL
        f"""INSERT INTO `{p}types` (ti, si, bi, dec1, fl, db, b13, b64, en, st, js, d, dt, ts,
            tm, yr, ch, vc, tx, bl, vb, bn, pt, geo) VALUES
            (0, 0, 0, 0, 0, 0, b'0', 0, 'a', '', '{{}}', '0000-00-00', '0000-00-00 00:00:00',
             '1970-01-01 00:00:01', '00:00:00', 0, '', '', '', '', '', '', ST_GeomFromText('POINT(0 0)'),
             ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))')),
            (-128, 65535, 18446744073709551615, 12345678901234567890.0123456789, 1.2345678,
             0.30000000000000004, b'1010101010101', b'1111111111111111111111111111111111111111111111111111111111111111',
             'ü', 'x,z', '{{"dbtable": "#__weblinks", "a": [1, 2.5, null], "q": "it''s 😀"}}',
             '2038-01-19', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', '-838:59:59.000', 2155,
             'ten chars!', 'It''s a "quote" \\\\ back\\nslash \\0 nul 😀 𝄞', REPEAT('long text ', 500),
             0x00FF00FF0A0D5C27225A1A, 0x00, 0x00000000, ST_GeomFromText('POINT(1.5 -2.25)', 4326),
             ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1,2 3))'))""",
        f"""INSERT INTO `{p}types` (vc, tx, en, st) VALUES
            ('#__content', 'SELECT * FROM `#__users` WHERE a=''#__''', 'x y', 'x,y,z'),
            ('{p}literal', '{p}users stays as it is', NULL, NULL),
            (CONCAT('tab', CHAR(9), 'cr', CHAR(13), 'ctrlz', CHAR(26)), NULL, 'b', 'y')""",
        f"""CREATE TABLE `{p}latin1` (id INT PRIMARY KEY, name VARCHAR(100), note TEXT,
            code CHAR(3) CHARACTER SET ascii) ENGINE=InnoDB DEFAULT CHARSET=latin1""",
        f"""INSERT INTO `{p}latin1` VALUES (1, _latin1 0x43E9E8E0FC80, _latin1 0x8182838485FF, 'abc'),
            (2, 'plain', '', NULL), (3, NULL, NULL, '')""",
        f"""CREATE TABLE `{p}parent` (id INT PRIMARY KEY, title VARCHAR(50) NOT NULL) ENGINE=InnoDB""",
        f"""CREATE TABLE `{p}child` (id INT PRIMARY KEY AUTO_INCREMENT, parent_id INT NOT NULL,
            note VARCHAR(100), KEY `{p}idx_parent` (parent_id),
            CONSTRAINT `{p}fk_child_parent` FOREIGN KEY (parent_id) REFERENCES `{p}parent` (id)
            ON DELETE CASCADE) ENGINE=InnoDB""",
        f"""INSERT INTO `{p}parent` VALUES (1, 'one'), (2, 'two'), (0, 'zero id')""",
        f"""INSERT INTO `{p}child` (id, parent_id, note) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, NULL)""",
        f"""CREATE TABLE `{p}nopk` (a INT, b VARCHAR(20)) ENGINE=InnoDB""",
        f"""INSERT INTO `{p}nopk` VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, '')""",
        f"""CREATE TABLE `{p}map` (a INT NOT NULL, b VARCHAR(20) NOT NULL, v BLOB,
            PRIMARY KEY (a, b)) ENGINE=InnoDB""",
        f"""INSERT INTO `{p}map` SELECT seq DIV 7, CONCAT('k', seq MOD 7), RANDOM_BYTES(1 + seq MOD 100)
            FROM seq_1_to_{map_rows}""",
        f"""CREATE TABLE `{p}session` (session_id VARBINARY(192) PRIMARY KEY, data MEDIUMTEXT)""",
        f"""INSERT INTO `{p}session` VALUES (0x01, 'secret session')""",
        f"""CREATE TABLE `{p}big` (id INT PRIMARY KEY, payload LONGBLOB) ENGINE=InnoDB""",
        f"""INSERT INTO `{p}big` VALUES (1, 'small'), (3, 'after')""",
        "CREATE TABLE other_table (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO other_table VALUES (1, 'other')",
        f"""CREATE VIEW `{p}z_base_view` AS SELECT c.id, c.note, p.title FROM `{p}child` c
            JOIN `{p}parent` p ON p.id = c.parent_id WHERE p.title <> '{p}not_a_table'""",
        f"""CREATE VIEW `{p}a_view_on_view` AS SELECT id, title FROM `{p}z_base_view` WHERE id > 1""",
        f"""CREATE TRIGGER `{p}child_bi` BEFORE INSERT ON `{p}child` FOR EACH ROW
            SET NEW.note = IFNULL(NEW.note, '#__ default')""",
        f"""CREATE PROCEDURE `{p}count_children`(IN pid INT, OUT total INT)
            BEGIN
              -- counts the children; it's a comment with a quote
              SELECT COUNT(*) INTO total FROM `{p}child` WHERE parent_id = pid;
            END""",
        f"""CREATE FUNCTION `{p}label`(x INT) RETURNS VARCHAR(100) DETERMINISTIC
            RETURN CONCAT('{p}label: ', x, ' #__')""",
    ]
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        if big_row:
            cur.execute(f"INSERT INTO `{p}big` VALUES (2, RANDOM_BYTES(1024))")
            cur.execute(f"UPDATE `{p}big` SET payload = REPEAT(CONCAT(payload, 0x00275C), "
                        f"{BIG_ROW_BYTES // 1027}) WHERE id = 2")
