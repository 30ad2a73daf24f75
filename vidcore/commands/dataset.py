"""``vidcore dataset ...``: build and edit datasets in the workspace (``$VIDCORE_HOME``).

The same library functions as the "My datasets" page (``vidcore.workspace``); a
workspace dataset's name works wherever a command takes DATASET.
"""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table

ACTIONS = ("create", "add", "cut", "import", "export", "ls", "rm", "mv", "rename")


def add_parser(sub):
    """Register ``dataset`` and its actions."""
    parser = sub.add_parser("dataset", help="build and edit your own datasets (the workspace)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = _action(actions, "create", "create an empty dataset")
    p.add_argument("name", metavar="NAME")
    p = _action(actions, "add", "add video files (or zips of clips) to a class")
    p.add_argument("name", metavar="NAME")
    p.add_argument("class_name", metavar="CLASS", help="created when new")
    p.add_argument("files", metavar="FILE", nargs="+", help="videos or zips of videos")
    p.add_argument("--one-recording", action="store_true",
                   help="the files come from one recording: they share a group")
    p = _action(actions, "cut", "cut one long video into clips of a class")
    p.add_argument("name", metavar="NAME")
    p.add_argument("class_name", metavar="CLASS", help="created when new")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--seconds", type=float, required=True, metavar="S", help="piece length")
    p.add_argument("--overlap", type=float, default=0.0, metavar="S",
                   help="seconds consecutive pieces share (0)")
    p = _action(actions, "import", "import a zip of class folders (an export, or your own)")
    p.add_argument("zip", metavar="ZIP")
    p.add_argument("--name", help="dataset to create or add to (default: from the zip)")
    p = _action(actions, "export", "write a dataset as one zip")
    p.add_argument("name", metavar="NAME")
    p.add_argument("out", metavar="OUT.zip")
    p = _action(actions, "ls", "list datasets, or one dataset's classes, clips and readiness")
    p.add_argument("name", metavar="NAME", nargs="?")
    p = _action(actions, "rm", "delete a dataset, a class, or one clip")
    p.add_argument("name", metavar="NAME")
    p.add_argument("class_name", metavar="CLASS", nargs="?")
    p.add_argument("clip", metavar="CLIP", nargs="?", help="file name or number (c00012)")
    p = _action(actions, "mv", "move a clip to another class (created when new)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("clip", metavar="CLIP")
    p.add_argument("class_name", metavar="CLASS")
    p = _action(actions, "rename", "rename a class")
    p.add_argument("name", metavar="NAME")
    p.add_argument("old", metavar="CLASS")
    p.add_argument("new", metavar="NEW")
    return parser


def _action(actions, name: str, help_text: str):
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _run_action(args) -> dict:
    """Call the library for ``args.action``; return what it returned, as plain data."""
    from vidcore import workspace as ws

    act = args.action
    if act == "create":
        return {"dataset": args.name, "path": str(ws.create(args.name))}
    if act == "add":
        return ws.add_clips(args.name, args.class_name, [(f, f) for f in args.files],
                            one_recording=args.one_recording)
    if act == "cut":
        return ws.cut_and_add(args.name, args.class_name, args.video, args.video,
                              args.seconds, args.overlap)
    if act == "import":
        return ws.import_zip(args.zip, args.zip, args.name)
    if act == "export":
        return ws.export_zip(args.name, args.out)
    if act == "ls":
        if args.name:
            return {**ws.describe(args.name), "clip_list": ws.clip_table(args.name)}
        return {"home": str(ws.home()), "limits": ws.limits().describe(),
                "datasets": ws.list_datasets()}
    if act == "rm":
        return _remove(ws, args)
    if act == "mv":
        return {"dataset": args.name, "moved": ws.move_clip(args.name, args.clip,
                                                            args.class_name)}
    return {"dataset": args.name, "renamed": args.old,
            "to": ws.rename_class(args.name, args.old, args.new)}


def _remove(ws, args) -> dict:
    if args.clip:
        return {"dataset": args.name, "deleted": ws.delete_clip(args.name, args.clip,
                                                                args.class_name)}
    if args.class_name:
        count = ws.delete_class(args.name, args.class_name)
        return {"dataset": args.name, "deleted": args.class_name, "clips": count}
    ws.delete(args.name)
    return {"dataset": args.name, "deleted": args.name}


def run(args) -> int:
    """Run one dataset action and print its result."""
    result = _run_action(args)
    if args.json:
        print_json(result)
    elif args.action == "ls":
        _print_ls(result)
    else:
        _print_change(args.action, result)
    return 0


def _print_change(action: str, result: dict) -> None:
    if action in ("add", "cut", "import"):
        extra = f" ({result['dropped_seconds']} s tail dropped)" if result.get(
            "dropped_seconds") else ""
        print(f"{result['dataset']}: {result['added']} clips added{extra}")
        for s in result["skipped"]:
            print(f"  skipped {s['name']}: {s['reason']}")
    elif action == "export":
        print(f"{result['zip']}: {result['clips']} clips, {result['bytes']} bytes")
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))


def _print_ls(result: dict) -> None:
    if "datasets" in result:
        print(f"{result['home']}  ({result['limits']})")
        rows = [[d["name"], len(d["classes"]), d["clips"], d["groups"],
                 "ready" if d["ready"] else "not ready", d["path"]] for d in result["datasets"]]
        print_table(rows, ["dataset", "classes", "clips", "groups", "readiness", "path"])
        return
    print(f"{result['name']}  {result['path']}")
    print_table([[c["class"], c["clips"], c["groups"]] for c in result["classes"]],
                ["class", "clips", "groups"])
    for f in result["findings"]:
        print(f"{f['level']}: {f['message']}" + (f"; {f['action']}" if f["action"] else ""))
    print_table([[c["clip"], c["class"], c["group_label"], c["display_name"]]
                 for c in result["clip_list"]], ["clip", "class", "group", "name"])
