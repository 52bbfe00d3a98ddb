"""Progress output: plain lines when piped, a redrawn bar on a terminal."""

import io

from restorer.progress import Progress, human_size


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_piped_output_is_plain_lines_with_amounts():
    out = io.StringIO()
    with Progress("Extracting", 2048, stream=out) as bar:
        bar.update(1024, item="images/a.jpg")
    assert out.getvalue().splitlines() == [
        "Extracting: 50.0% 1.0 KiB / 2.0 KiB images/a.jpg",
        "Extracting: 50.0% 1.0 KiB / 2.0 KiB",
    ]


def test_percent_unit_is_not_repeated():
    out = io.StringIO()
    with Progress("backup #1", 100, unit="%", stream=out) as bar:
        bar.update(18.5, item="jos_content")
    assert out.getvalue().splitlines() == ["backup #1: 18.5% jos_content", "backup #1: 18.5%"]


def test_terminal_bar_is_redrawn_in_place_and_messages_clear_it():
    out = _Tty()
    bar = Progress("Packing", 4, unit="files", stream=out)
    bar.update(1, item="a.php")
    bar.message("WARNING: cannot read b.php")
    bar.close()
    text = out.getvalue()
    assert text.startswith("\rPacking [#######-----------------------] 25.0% 1 files / 4 files a.php")
    # the message first blanks the bar's line, then stands on a line of its own
    assert "\rWARNING: cannot read b.php\n" in text
    assert "\n" not in text.split("WARNING")[0] and text.endswith("a.php\n")


def test_human_size():
    assert [human_size(n) for n in (5, 2048, 3 * 1024 ** 3)] == ["5 B", "2.0 KiB", "3.0 GiB"]
