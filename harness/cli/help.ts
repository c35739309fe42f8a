export const HELP: Record<string, string> = {
  main: `rig - a test harness and benchmark framework

Usage: rig <command> [options]

Commands:
  run       run suites against systems and record figures (default profile: smoke)
  report    build the Allure report, rig's HTML report and the site index of a run
  gate      judge a run against thresholds and the baseline; exit 0 pass, 1 fail, 2 no verdict
  systems   list systems, or start one standalone: rig systems start <name>
  doctor    what this machine offers (Node, C toolchain, Chromium, Docker, models)

Run "rig <command> --help" for a command's options.`,
  run: `Usage: rig run [--profile smoke|nightly|bench] [--system a,b] [--suite x,y] [--target name=url]... [--json]

  --profile   smoke (default: every suite, short), nightly (long stress, soak, faults), bench (benchmarks)
  --system    only files of these systems (e.g. queue,state-store)
  --suite     only these categories (unit, stress, latency, load, producer-consumer, openai-compat,
              cross-platform, fault, bench, e2e) or file-name parts
  --target    run a system's suites against an external server, e.g. inference=http://127.0.0.1:8080/v1
  --no-gate   record figures without failing on threshold breaches or regressions
  --strict    exit 2 when a judged figure has no verdict (invalid run)
  --json      print one JSON line with the outcome instead of the tables

Writes reports/<run-id>/: run.json, figures.jsonl, figures.json, verdicts.json, junit.xml,
gate.junit.xml, allure-results/ and index.html. Exit 0 pass, 1 test failure or gate failure.`,
  report: `Usage: rig report [--run reports/<run-id>] [--no-allure]

Builds, for a run (default: the latest): the Allure 3 report (allure-report/, with trend history in
reports/allure-history.jsonl), rig's self-contained index.html, figures.json, gate.junit.xml, and
reports/index.html listing every run.`,
  gate: `Usage: rig gate [--run reports/<run-id>] [--baseline file] [--thresholds file]... [--tolerance 0.2]
                [--update-baseline] [--json]

Compares a run (default: the latest) with thresholds/*.json and reports/baselines/<profile>.json.
Prints figure, baseline, now, change, verdict, why. Exit 0 pass, 1 breach or regression,
2 a judged figure had no verdict (invalid run) or a usage error.
  --update-baseline  write the baseline of the run's profile from its valid figures`,
  systems: `Usage: rig systems [list]
       rig systems start <name> [--provider inprocess|process|container]

start runs one system standalone, prints its endpoint and stops it on Ctrl-C.`,
  doctor: `Usage: rig doctor [--json]

Checks what this machine offers and says how to get what is missing.`,
};
