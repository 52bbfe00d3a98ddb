"""Prefix swap and abstraction outside literals; statement streaming across parts."""

from pathlib import Path

from packer.dump.prefix import abstract_sql
from packer.dump.schema import strip_definer
from restorer.dbimport.sqlstream import MarkerStatementReader, plain_statements
from restorer.dbimport.sqltext import swap_prefix


def test_swap_leaves_literals_and_comments_alone():
    sql = (b"CREATE VIEW `#__a` AS select '#__x', \"#__y\", `#__b`.id -- it's #__\n"
           b"from `#__b` where x='it''s #__' and y='\\'#__'")
    assert swap_prefix(sql, b"#__", b"new_") == (
        b"CREATE VIEW `new_a` AS select '#__x', \"#__y\", `new_b`.id -- it's #__\n"
        b"from `new_b` where x='it''s #__' and y='\\'#__'")


def test_swap_in_insert_touches_only_the_head():
    sql = b"INSERT INTO `#__a` (`x`) VALUES ('#__'),(0x235F5F),('`#__')"
    assert swap_prefix(sql, b"#__", b"j5_") == b"INSERT INTO `j5_a` (`x`) VALUES ('#__'),(0x235F5F),('`#__')"


def test_abstraction_of_names_not_of_literals_or_other_names():
    sql = (b"CREATE TABLE `jos_a` (`id` int, `x_jos_` int, KEY `jos_idx` (`id`), CONSTRAINT `jos_fk` "
           b"FOREIGN KEY (`id`) REFERENCES `jos_b` (`id`)) COMMENT='jos_a'; select jos_b.id from jos_b, @jos_v, myjos_x")
    assert abstract_sql(sql, "jos_") == (
        b"CREATE TABLE `#__a` (`id` int, `x_jos_` int, KEY `#__idx` (`id`), CONSTRAINT `#__fk` "
        b"FOREIGN KEY (`id`) REFERENCES `#__b` (`id`)) COMMENT='jos_a'; select #__b.id from #__b, @jos_v, myjos_x")


def test_definer_removed_from_head_only():
    sql = (b"CREATE DEFINER=`root`@`localhost` PROCEDURE `p`() BEGIN SELECT 'DEFINER=`x`@`y`'; END")
    assert strip_definer(sql) == b"CREATE PROCEDURE `p`() BEGIN SELECT 'DEFINER=`x`@`y`'; END"
    view = b"CREATE ALGORITHM=UNDEFINED DEFINER=`u`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"
    assert strip_definer(view) == b"CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"


def test_statements_crossing_part_boundaries(tmp_path: Path):
    stream = (b"/**ABDB**/CREATE TABLE `#__a` (id int);\n/**ABDB**/INSERT INTO `#__a` VALUES (1),(2);\n"
              b"/**ABDB**/INSERT INTO `#__a` VALUES ('x;\n/**ABDB' 'y');\n")
    cuts = [15, 40, 45, 100]
    paths, last = [], 0
    for i, cut in enumerate(cuts + [len(stream)]):
        paths.append(tmp_path / f"site.s{i:02d}")
        paths[-1].write_bytes(stream[last:cut])
        last = cut
    statements = list(MarkerStatementReader(paths))
    assert [s for _, _, s in statements] == [
        b"CREATE TABLE `#__a` (id int)", b"INSERT INTO `#__a` VALUES (1),(2)",
        b"INSERT INTO `#__a` VALUES ('x;\n/**ABDB' 'y')"]
    # resuming from the saved position of the second statement gives the rest
    part, offset, _ = statements[1]
    assert [s for _, _, s in MarkerStatementReader(paths, part, offset)] == [s for _, _, s in statements[1:]]


def test_plain_dump_statements(tmp_path: Path):
    dump = tmp_path / "plain.sql"
    dump.write_bytes(
        b"/*M!999999\\- enable the sandbox mode */ \n"
        b"-- MariaDB dump 10.19\n/*!40101 SET NAMES utf8mb4 */;\n\n"
        b"INSERT INTO `t` VALUES (1,'a;\n-- not a comment;'),(2,'b');\n"
        b"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END ;;\nDELIMITER ;\n"
        b"# hash comment\nSELECT 'x';\n")
    assert [s for _, s in plain_statements(dump)] == [
        b"/*!40101 SET NAMES utf8mb4 */",
        b"INSERT INTO `t` VALUES (1,'a;\n-- not a comment;'),(2,'b')",
        b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
        b"SELECT 'x'"]
