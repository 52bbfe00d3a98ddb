"""Password guessing against both web apps at once, from many loopback addresses.

A real wizard (``sitepack wizard``, installer password) and a real backup UI (``sitepack
serve``, login password) run as processes on 127.0.0.1. Attackers bound to 127.0.0.2,
127.0.0.3, … fire concurrent wrong guesses (first a burst from one address, all released at
once) for ATTACK_SECONDS (more than one window, so
the second minute is measured too). Each answer says whether the slow check ran ("wrong
password", 403) or was refused before it (429), so the test counts checked guesses at
the server. It asserts the real ceilings (no test-only setting exists) over every
60-second span, shows that the owner gets in through the one-time URL during the attack,
and that a client at another address with the right password gets in once the total
ceiling allows.
"""

from __future__ import annotations

import collections
import os
import re
import threading
import time
from dataclasses import dataclass

import pytest

from restorer.restore.install_password import password_file_text
from restorer.web.guard import PER_ADDRESS_PER_WINDOW, TOTAL_PER_WINDOW, WINDOW_SECONDS
from tests.restore.live_wizard import Browser, PrintingServer, WizardProcess
from tests.restore.test_wizard_gate import _site

ATTACK_SECONDS = 70.0
BURST_ADDRESS = "127.0.0.2"
BURST_SIZE = 2 * PER_ADDRESS_PER_WINDOW
ATTACKERS = [f"127.0.0.{n}" for n in range(3, 11)]
THREADS_PER_ADDRESS = 3
OWNER_ADDRESS = "127.0.0.1"
LATECOMER_ADDRESS = "127.0.0.50"
PASSWORD = "the right password 1"


@dataclass
class Guess:
    address: str
    sent: float
    answered: float
    checked: bool


class BackupUiProcess(PrintingServer):
    """``sitepack serve`` with a login password."""

    def __init__(self, site, env):
        super().__init__(["sitepack", "serve", "--site", str(site), "--port", "0", "--password-env", "T_LOGIN"],
                         r"(http://\S+/)login#token=", env)


def _guess(browser: Browser, token: str, password: str, guesses: list, lock: threading.Lock) -> bool:
    sent = time.monotonic()
    status, _, text = browser.request("POST", "/login", form={"csrf_token": token, "password": password})
    answered = time.monotonic()
    # The answer's words say whether the slow check ran.
    checked = re.search(r"Wrong (installer )?password\.", text) is not None
    refused = "Too many" in text
    assert checked != refused, (status, text[:300])
    with lock:
        guesses.append(Guess(browser.source, sent, answered, checked))
    return checked


def _attack(server, address: str, deadline: float, guesses: list, lock: threading.Lock, n: int) -> None:
    browser = Browser(server.host, server.port, source=address)
    token = browser.csrf()
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if not _guess(browser, token, f"guess {n}-{attempt}", guesses, lock):
            time.sleep(0.5)  # keeps the two shared cores for the servers; still many tries a second


def _burst(server, guesses: list, lock: threading.Lock) -> None:
    """BURST_SIZE guesses from one address released at the same instant (one session each)."""
    browsers = [Browser(server.host, server.port, source=BURST_ADDRESS) for _ in range(BURST_SIZE)]
    tokens = [browser.csrf() for browser in browsers]
    start = threading.Barrier(BURST_SIZE)

    def fire(i: int) -> None:
        start.wait()
        _guess(browsers[i], tokens[i], f"burst {i}", guesses, lock)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(BURST_SIZE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def _most_in_a_window(guesses: list[Guess]) -> int:
    """The most checked guesses whose check surely fell inside one window (server time lies
    between sending and the answer), over windows starting at each guess."""
    checked = sorted((g for g in guesses if g.checked), key=lambda g: g.sent)
    return max((sum(1 for g in checked if g.sent >= first.sent and g.answered < first.sent + WINDOW_SECONDS)
                for first in checked), default=0)


def _log_in_with_token(server) -> tuple[int, int]:
    token = server.wait_for(r"/login#token=(\S+)").group(1)
    owner = Browser(server.host, server.port, source=OWNER_ADDRESS)
    csrf = owner.csrf()
    first = owner.request("POST", "/login", form={"csrf_token": csrf, "token": token})[0]
    again = Browser(server.host, server.port, source=OWNER_ADDRESS)
    second = again.request("POST", "/login", form={"csrf_token": again.csrf(), "token": token})[0]
    return first, second


def _latecomer_logs_in(server) -> float:
    """Seconds the right password waited for the total ceiling, from a fresh address."""
    browser = Browser(server.host, server.port, source=LATECOMER_ADDRESS)
    csrf = browser.csrf()
    start = time.monotonic()
    while time.monotonic() - start < WINDOW_SECONDS + 10:
        status, _, text = browser.request("POST", "/login", form={"csrf_token": csrf, "password": PASSWORD})
        if status == 302:
            return time.monotonic() - start
        assert status == 429, (status, text[:200])
        wait = int(re.search(r"wait (\d+) seconds", text).group(1))
        time.sleep(min(wait, 5))
    raise AssertionError("the right password never got in after the attack stopped")


@pytest.mark.proof("security", "concurrent password guessing from 8 addresses against the wizard and the backup UI")
def test_guessing_is_held_to_the_ceilings_and_the_owner_still_gets_in(tmp_path, proof):
    wizard_site = _site(tmp_path / "restore")
    (wizard_site / "installation" / "password.json").write_text(password_file_text(PASSWORD))
    backup_site = tmp_path / "site"
    backup_site.mkdir()
    servers = {}
    try:
        servers["wizard"] = WizardProcess(wizard_site)
        servers["backup UI"] = BackupUiProcess(backup_site, dict(os.environ, T_LOGIN=PASSWORD))
        guesses = {name: [] for name in servers}
        lock = threading.Lock()
        bursts = [threading.Thread(target=_burst, args=(server, guesses[name], lock))
                  for name, server in servers.items()]
        for thread in bursts:
            thread.start()
        for thread in bursts:
            thread.join(90)
        deadline = time.monotonic() + ATTACK_SECONDS
        threads = [threading.Thread(target=_attack, args=(server, address, deadline, guesses[name], lock, n))
                   for name, server in servers.items() for address in ATTACKERS
                   for n in range(THREADS_PER_ADDRESS)]
        for thread in threads:
            thread.start()
        time.sleep(ATTACK_SECONDS / 2)
        tokens = {name: _log_in_with_token(server) for name, server in servers.items()}
        for thread in threads:
            thread.join(ATTACK_SECONDS + 60)
        assert not any(thread.is_alive() for thread in threads)
        late = {}
        waiters = [threading.Thread(target=lambda n=name, s=server: late.__setitem__(n, _latecomer_logs_in(s)))
                   for name, server in servers.items()]
        for thread in waiters:
            thread.start()
        for thread in waiters:
            thread.join(WINDOW_SECONDS + 30)
    finally:
        for server in servers.values():
            server.stop()
    measured = {}
    for name, made in guesses.items():
        checked = [g for g in made if g.checked]
        start = min(g.sent for g in made)
        per_minute = collections.Counter(int((g.sent - start) // WINDOW_SECONDS) for g in checked)
        measured[name] = m = {
            "checked": len(checked),
            "burst_checked": sum(g.checked for g in made if g.address == BURST_ADDRESS),
            "most_per_address": max(_most_in_a_window([g for g in made if g.address == a])
                                    for a in [BURST_ADDRESS, *ATTACKERS]),
            "most_total": _most_in_a_window(made)}
        m["figures"] = (
            f"{name}: {BURST_SIZE} simultaneous guesses from one address, {m['burst_checked']} checked; "
            f"then {len(made)} guesses in all in {ATTACK_SECONDS:.0f} s from {len(ATTACKERS)} more addresses "
            f"x {THREADS_PER_ADDRESS} threads; {len(checked)} checked (per minute "
            f"{[per_minute[k] for k in sorted(per_minute)]}), {len(made) - len(checked)} refused "
            f"unchecked; most checked in 60 s: {m['most_per_address']} per address (ceiling "
            f"{PER_ADDRESS_PER_WINDOW}), {m['most_total']} in total (ceiling {TOTAL_PER_WINDOW}); "
            f"one-time URL during the attack: {tokens[name][0]} then {tokens[name][1]} on reuse; "
            f"right password from a new address got in after {late.get(name, float('nan')):.0f} s")
        print(m["figures"])
        proof.cases += len(made)
        proof.note(m["figures"])
    for name, m in measured.items():
        figures = m["figures"]
        assert m["burst_checked"] == PER_ADDRESS_PER_WINDOW, figures
        assert m["most_per_address"] <= PER_ADDRESS_PER_WINDOW, figures
        assert m["most_total"] <= TOTAL_PER_WINDOW, figures
        # The attack really pressed (a window's worth was checked), and 70 s span two windows.
        assert TOTAL_PER_WINDOW <= m["checked"] <= 2 * TOTAL_PER_WINDOW, figures
        assert tokens[name] == (302, 403), figures
        assert name in late, figures
