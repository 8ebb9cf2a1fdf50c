"""Write the dashboards' JSON, or with --check list the files that differ from the code."""

from __future__ import annotations

import argparse
import sys

from deploy.grafana.dashgen import OUTPUT_DIR, render_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.grafana.dashgen")
    parser.add_argument("--check", action="store_true", help="fail if the JSON is out of date")
    args = parser.parse_args(argv)
    rendered = render_all()
    stale = [
        name
        for name, text in rendered.items()
        if not (OUTPUT_DIR / name).is_file() or (OUTPUT_DIR / name).read_text() != text
    ]
    extra = sorted(p.name for p in OUTPUT_DIR.glob("*.json") if p.name not in rendered)
    if args.check:
        for name in [*stale, *extra]:
            print(f"out of date: {OUTPUT_DIR / name}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (OUTPUT_DIR / name).write_text(rendered[name])
        print(f"wrote {OUTPUT_DIR / name}")
    for name in extra:
        (OUTPUT_DIR / name).unlink()
        print(f"removed {OUTPUT_DIR / name} (no longer generated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
