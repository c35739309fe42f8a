import { PROVIDER_NAMES } from '../systems/providers/index.ts';

export const HELP: Record<string, string> = {
  main: `rig - a test harness and benchmark framework

Usage: rig <command> [options]

Commands:
  run       run suites against systems and record figures (default profile: smoke)
  report    build the Allure report, rig's HTML report and the site index of a run
  gate      judge a run against thresholds and the baseline; exit 0 pass, 1 fail, 2 nothing judged
  calibrate run the suites N times on this commit (A/A) and write the baseline with measured noise
  systems   list systems, or start one standalone: rig systems start <name> [--port N]
  doctor    what this machine offers (Node, C toolchain, Chromium, Docker, an NVIDIA GPU) and what each system needs

Run "rig <command> --help" for a command's options.`,
  run: `Usage: rig run [--profile smoke|nightly|bench] [--system a,b] [--suite x,y] [--target name=url]... [--json]

  --profile   smoke (default: every suite, short), nightly (long stress, soak, faults), bench (benchmarks)
  --system    only files of these systems (e.g. queue,state-store)
  --suite     only these categories (unit, stress, latency, load, producer-consumer, openai-compat,
              cross-platform, fault, security, bench, e2e) or file-name parts
  --target    run a system's suites against an external server, e.g. inference=http://127.0.0.1:8080/v1
              (http, https, ws or wss; RIG_TARGET_<NAME> does the same from the environment)
  --no-gate   record figures without failing on threshold breaches or regressions
  --strict    exit 2 when a judged figure has no verdict (invalid run)
  --json      print one JSON line with the outcome instead of the tables
  --inject-slowdown F
              calibration only: slow every measured operation by F of its own time (0.15 = 15%)
              with a busy-wait, to measure what the gate detects; the run is marked injected in
              run.json and can never become a baseline

Writes reports/<run-id>/: run.json, figures.jsonl, figures.json, verdicts.json, junit.xml,
gate.junit.xml, allure-results/ and index.html. Exit 0 pass, 1 test failure or gate failure.`,
  report: `Usage: rig report [--run reports/<run-id>] [--no-allure]

Builds, for a run (default: the latest): the Allure 3 report (allure-report/, with trend history in
reports/allure-history.jsonl), rig's self-contained index.html, figures.json, gate.junit.xml, and
reports/index.html listing every run.`,
  gate: `Usage: rig gate [--run reports/<run-id>] [--baseline file] [--thresholds file]... [--alpha 0.005]
                [--tolerance 0.35] [--strict] [--update-baseline [--force]] [--json]

Compares a run (default: the latest) with thresholds/*.json and reports/baselines/<profile>.json.
A figure the baseline calibrated (rig calibrate) is a regression when its change is beyond its own
between-run spread, with Holm's method holding the chance of any false alarm in the run to --alpha;
an instruction count (instr/op) is judged against a 1% band; an uncalibrated figure on its
within-run interval and the profile's band (--tolerance), and with neither, no verdict.
Prints figure, baseline, now, change, detectable, verdict, why. Exit 0 pass (figures with no
verdict are listed, never counted as passes), 1 breach or regression, 2 nothing could be judged
(with --strict: any figure with a rule or a baseline had no verdict) or a usage error.
  --update-baseline  make this run the baseline of its profile; each figure keeps the calibrated
                     spread of the previous baseline. Refuses a run with failed tests, threshold
                     breaches or an injected slowdown unless --force`,
  calibrate: `Usage: rig calibrate [--profile smoke|bench|nightly] [--system a,b] [--suite x,y] [--runs N]
                     [--from-runs dir,dir,...] [--add] [--baseline file] [--alpha 0.005] [--force]

Runs the selected suites N times on this commit (A/A; default smoke 5, bench 3) and writes
reports/baselines/<profile>.json: per figure the median over the runs (the centre), the between-run
spread (max of SD and 1.4826 MAD of ln(value), or of the value itself for signed values and values
near zero), the number of runs and the reference id. It prints the distribution of minimum
detectable effects and a leave-one-out A/A check (each run gated against the others).
A --system/--suite subset replaces only its own figures in the baseline. --from-runs calibrates from
finished runs of one commit instead of running new ones. --add adds the runs to the baseline's
calibration of the same commit: the spread's degrees of freedom grow and the gate sharpens (with
~270 figures the critical value is ~20 spreads at 5 runs, ~7.5 at 10, ~5.3 at 20). Refuses a run
with failed tests, threshold breaches or an injected slowdown unless --force.`,
  systems: `Usage: rig systems [list]
       rig systems start <name> [--port N] [--host H] [--provider ${PROVIDER_NAMES.join('|')}] [--<option> value]...

list prints each system with the providers it supports. start runs one system standalone, prints
its endpoint and stops it on Ctrl-C.
  --port      listen on this port (default: a free one); the process and inprocess providers honour
              it, the container provider maps it to the container's port
  --host      listen on this address (default 127.0.0.1; 0.0.0.0 to serve other machines)
  --provider  how to start it (default: the system's own); external reaches --target or
              RIG_TARGET_<NAME> instead
  --<option>  any other flag is one of the system's start options, kebab-case for camelCase and
              checked against its schema: rig systems start spaces-mock-app --url URL --space demo
              --token T --delay-ms 20`,
  doctor: `Usage: rig doctor [--json]

Checks what this machine offers and what each system needs (its doctor() in system.ts, e.g. the
queue's addon, the inference models) and says how to get what is missing.`,
};
