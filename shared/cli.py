"""`voc` command line. Subcommands run service entry points as modules, so `shared` never
imports a service."""

from __future__ import annotations

import argparse
import runpy
import sys

COMMANDS = {
    "run": ("shared.stack", "run the whole pipeline locally (what `make run` does)"),
    "migrate": ("services.metrics.migrate", "apply the database migrations"),
    "schemas": ("shared.schema_export", "regenerate schemas/ from the event models"),
    "replay-fetches": (
        "shared.ingest.webhooks.replay",
        "put dead-lettered vendor fetches back on voc.fetch.pending.v1",
    ),
    "import": ("services.importer", "bulk-import a file through the ingestion services"),
    "classify": ("services.classifier.cli", "classify JSON lines (the service's code path)"),
    "train-heads": (
        "services.classifier.train_heads",
        "calibrate the sentiment head on rated feedback (installs only if not worse)",
    ),
    "eval": ("services.classifier.evaluate", "regenerate the classifier report in docs/eval/"),
    "api-key": ("services.api.keys_cli", "create, list or revoke BI API keys"),
    "remap": (
        "services.metrics.remap",
        "re-resolve past facts' touchpoints with the current journey catalog",
    ),
    "rollups-rebuild": (
        "services.metrics.rebuild",
        "recompute score rollups and slices from the stored facts",
    ),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="voc", description="VoC pipeline tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    args, rest = parser.parse_known_args(argv)
    module, _ = COMMANDS[args.command]
    sys.argv = [f"voc {args.command}", *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
