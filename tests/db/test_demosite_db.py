"""The demo Joomla site's database, dumped with the site's own account and restored."""

from __future__ import annotations

from fidelity import info_for

from harness.compare import definitions, table_hashes
from harness.demosite import build_demo_site
from packer.dump import Dumper, DumpOptions
from restorer.dbimport.importer import Importer


def test_demo_site_database_round_trip_under_a_new_prefix(db, db_factory, tmp_path):
    site = build_demo_site(tmp_path / "site", db)
    dumper = Dumper(info_for(site.db), tmp_path / "sql",
                    DumpOptions(prefix=site.prefix, extra_tables=site.unprefixed_tables,
                                split_size=256 << 10, packet_size=32 << 10))
    assert dumper.run() is True
    entry = dumper.databases_json_entry()
    assert set(entry["tables"]) == {"#__" + t[len(site.prefix):] for t in site.tables + site.views} \
        | set(site.unprefixed_tables)
    target = db_factory()
    importer = Importer(info_for(target), tmp_path / "sql", entry, new_prefix="r4nd_")
    assert importer.run() is True and importer.warnings == []
    with site.db.connect() as a, target.connect() as b:
        source, restored = table_hashes(a, site.prefix), table_hashes(b, "r4nd_")
        assert restored.pop("#__session")[0] == 0 and source.pop("#__session")[0] > 0
        assert restored == source
        assert definitions(b, "r4nd_") == definitions(a, site.prefix)
        with a.cursor() as cur_a, b.cursor() as cur_b:
            for table in site.unprefixed_tables:
                cur_a.execute(f"SELECT COUNT(*) FROM `{table}`")
                cur_b.execute(f"SELECT COUNT(*) FROM `{table}`")
                assert cur_b.fetchone() == cur_a.fetchone()
            cur_b.execute("SELECT COUNT(*) FROM r4nd_content_types WHERE `table` LIKE '%#\\_\\_%'")
            assert cur_b.fetchone()[0] > 0  # Joomla's literal "#__" in data came back as is
