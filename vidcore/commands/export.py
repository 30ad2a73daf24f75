"""``vidcore export RUN --format bundle|tflite|savedmodel --out FILE``: take a model away."""

from __future__ import annotations

from vidcore.commands.output import print_json


def add_parser(sub):
    """Register the ``export`` command."""
    from vidcore.export import FORMATS

    parser = sub.add_parser("export", help="write a run's model as a bundle, TFLite or "
                            "SavedModel file")
    parser.add_argument("run_dir", metavar="RUN", help="run directory")
    parser.add_argument("--format", choices=FORMATS, default="bundle",
                        help="bundle: zip for 'vidcore import'; tflite, savedmodel (a zip): "
                        "frames [K,S,S,3] uint8 (S: the backbone's side, 224 for Lite0) -> "
                        "clip probabilities (default bundle)")
    parser.add_argument("--out", required=True, metavar="FILE", help="file to write")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Export and say where it went."""
    from vidcore.export import export

    path = export(args.run_dir, args.format, args.out)
    result = {"run_dir": args.run_dir, "format": args.format, "path": str(path),
              "bytes": path.stat().st_size}
    if args.json:
        print_json(result)
    else:
        print(f"wrote {path} ({args.format}, {result['bytes'] / 1e6:.1f} MB)")
    return 0
