"""User spaces: safe folder names, which folders follow the space, confinement, limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vidcore import cli, settings, spaces, workspace
from vidcore.data.index import load_index
from vidcore.errors import InputError
from vidcore.spaces import confine, quotas


@pytest.fixture
def spaces_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "spaces"
    monkeypatch.setenv(settings.SPACES, str(root))
    monkeypatch.setenv(settings.DEMO_DIR, str(tmp_path / "demo"))
    monkeypatch.setenv(settings.RUNS, str(tmp_path / "local-runs"))
    monkeypatch.setenv(settings.HOME, str(tmp_path / "local-workspace"))
    monkeypatch.delenv(settings.DATA_ROOTS, raising=False)
    return root


HOSTILE = ["..%2f..%2fetc@x.org", "x@..", "ünï@exämple.org", "A@B.C",
           "a.b@x.org", "a-b@x.org", "a_b@x.org", "..@..", "-@-", "$(rm${IFS}-rf~)@x.org",
           "`id`;&@x.org",
           "a" * 120 + "@example.org"]


def test_folder_names_are_safe_and_distinct():
    names = {}
    for email in HOSTILE:
        name = spaces.folder_name(email)
        assert spaces.identity.is_space_folder(name), name
        assert "/" not in name and ".." not in name and not name.startswith("-")
        assert Path(name).name == name and len(name) <= 45
        names.setdefault(name, set()).add(email.strip().lower())
    # one folder per e-mail; only case differences (A@B.C, a@b.c) are one user
    assert all(len(emails) == 1 for emails in names.values())
    assert spaces.folder_name("A@B.C") == spaces.folder_name(" a@b.c ")
    assert spaces.folder_name("a.b@x.org") != spaces.folder_name("a-b@x.org")


@pytest.mark.parametrize("bad", ["", "no-at-sign", "two@@x.org", "a b@x.org", "a@b\n.c",
                                 "a@x/y", "a\\b@x.org", "../../etc/passwd@x.org",
                                 "a/b@c.d", None])
def test_an_unusable_email_is_refused(bad):
    with pytest.raises(InputError, match="e-mail"):
        spaces.folder_name(bad)


def test_runs_workspace_and_roots_follow_the_space(spaces_root, tmp_path):
    assert settings.runs_dir() == tmp_path / "local-runs"
    alice = spaces.open_space("alice@example.com")
    assert alice.parent == spaces_root
    assert json.loads((alice / spaces.identity.IDENTITY).read_text()) == {
        "email": "alice@example.com"}
    with spaces.use(alice):
        assert settings.runs_dir() == alice / "runs"
        assert settings.workspace_home() == alice / "workspace"
        assert settings.data_roots()[:1] == [alice.resolve()]  # never "any folder"
        assert settings.queue_dir() == spaces_root / "queue"
    assert settings.workspace_home() == tmp_path / "local-workspace"
    assert [s["email"] for s in spaces.list_spaces()] == ["alice@example.com"]


def test_confinement_refuses_other_spaces_and_elsewhere(spaces_root, tmp_path, monkeypatch):
    alice, bob = spaces.open_space("alice@example.com"), spaces.open_space("bob@example.com")
    (bob / "workspace" / "secret").mkdir(parents=True)
    (alice / "workspace").mkdir(parents=True)
    (alice / "workspace" / "link").symlink_to(bob / "workspace" / "secret")
    # a shared data root that happens to hold the spaces folder opens no one else's
    monkeypatch.setenv(settings.DATA_ROOTS, str(tmp_path))
    with spaces.use(alice):
        assert confine.may_read(alice / "workspace")
        assert confine.may_read(tmp_path / "demo" / "UCF-101" / "x.avi")
        assert confine.may_read(settings.shipped_demo_model())
        for hostile in (bob / "workspace" / "secret", alice / ".." / bob.name,
                        alice / "workspace" / "link", "/etc/passwd", spaces_root,
                        f"{alice}/../{bob.name}/runs"):
            assert not confine.may_read(hostile), hostile
            with pytest.raises(InputError, match="outside your space"):
                confine.check_readable(hostile)
    assert confine.may_read(bob / "workspace" / "secret")  # the local app: the machine's owner


def test_a_csv_listing_another_users_video_is_refused(spaces_root, make_video):
    alice, bob = spaces.open_space("alice@example.com"), spaces.open_space("bob@example.com")
    theirs = bob / "workspace" / "d" / "Jump"
    theirs.mkdir(parents=True)
    videos = [make_video(f"v{i}.avi") for i in range(4)]
    os.replace(videos[0], theirs / "v0.avi")
    mine = alice / "workspace" / "list.csv"
    mine.parent.mkdir(parents=True)
    rows = [f"{theirs / 'v0.avi'},Jump,g1,train"] + [
        f"{v},Jump,g{i},test" for i, v in enumerate(videos[1:], 2)]
    mine.write_text("path,label,group,split\n" + "\n".join(rows) + "\n")
    with spaces.use(alice):
        index = load_index(str(mine))
        with pytest.raises(InputError, match="lists .*v0.avi"):
            confine.check_index(index)


def test_per_user_limits_say_what_to_do(spaces_root, monkeypatch):
    alice = spaces.open_space("alice@example.com")
    monkeypatch.setenv("VIDCORE_USER_DATASETS", "1")
    monkeypatch.setenv("VIDCORE_USER_UPLOADS_PER_MINUTE", "2")
    with spaces.use(alice):
        workspace.create("first")
        with pytest.raises(InputError, match="1 datasets, the most"):
            workspace.create("second")
        quotas.note_upload(now=1000.0)
        quotas.note_upload(now=1010.0)
        with pytest.raises(InputError, match="wait 40 s"):
            quotas.note_upload(now=1020.0)
        quotas.note_upload(now=1071.0)  # the first one is over a minute old
        monkeypatch.setenv("VIDCORE_USER_DISK_MB", "1")
        (alice / "big").write_bytes(b"x" * (2 * quotas.MB))
        with pytest.raises(InputError, match="of the 1 MB"):
            quotas.check_disk()
        with pytest.raises(InputError, match="3 clips and may hold 4"):
            monkeypatch.setenv("VIDCORE_USER_CLIPS", "4")
            quotas.check_clips(3, 2)
    workspace.create("local-one")  # the local app has none of these limits
    workspace.create("local-two")


def test_the_cli_acts_in_one_users_space(spaces_root, capsys):
    assert cli.main(["--user", "alice@example.com", "dataset", "create", "moves"]) == 0
    alice = spaces.space_folder("alice@example.com")
    assert (alice / "workspace" / "moves").is_dir()
    capsys.readouterr()
    assert workspace.list_names() == []  # the local space has none
    assert cli.main(["--user", "bob@example.com", "dataset", "ls"]) == 0
    assert "moves" not in capsys.readouterr().out
    assert cli.main(["--user", "not an email", "dataset", "ls"]) == 2
    assert "not an e-mail address" in capsys.readouterr().err


def test_uploads_at_once_from_many_threads_are_each_counted(spaces_root, monkeypatch):
    import threading
    import time

    alice = spaces.open_space("alice@example.com")
    monkeypatch.setenv("VIDCORE_USER_UPLOADS_PER_MINUTE", "5")
    slow_write = quotas.write_with

    def write_with(path, write):  # widen the read-to-write window a race would slip through
        time.sleep(0.02)
        slow_write(path, write)

    monkeypatch.setattr(quotas, "write_with", write_with)
    start, passed, refused = threading.Barrier(12), [], []

    def upload():
        with spaces.use(alice):  # each server thread names its space for itself
            start.wait()
            try:
                quotas.note_upload(now=1000.0)
                passed.append(1)
            except InputError as err:
                refused.append(str(err))

    threads = [threading.Thread(target=upload) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(passed), len(refused)) == (5, 7)
    assert all("5 uploads a minute is the most" in e for e in refused)
    assert json.loads((alice / quotas.UPLOADS).read_text()) == [1000.0] * 5
