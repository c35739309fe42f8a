import { PROVIDER_NAMES } from '../systems/providers/index.ts';

export const HELP: Record<string, string> = {
  main: `rig - a test harness and benchmark framework

Usage: rig <command> [options]

Commands:
  run       run suites against systems and record figures (default profile: smoke)
  merge     make one run of the shards of \`rig run --shard I/N\` (vitest --merge-reports), then gate and report it
  report    build the Allure report, rig's HTML report and the site index of a run
  gate      judge a run against thresholds and the baseline; exit 0 pass, 1 fail, 2 nothing judged
  calibrate run the suites N times on this commit (A/A) and write the baseline with measured noise
  systems   list systems, or start one standalone: rig systems start <name> [--port N]
  site      build the static report site over the run history: trends, change points, run links
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
  --shard I/N run vitest's part I of N of the selected files (vitest --shard, 1 <= I <= N) and write
              its blob report to blob/blob-I-N.json for \`rig merge\`; the browser suites
              (@playwright/test) run in shard 1 only. run.json records the shard
  --summary FILE
              also append the verdict table in Markdown to FILE (GitHub: "$GITHUB_STEP_SUMMARY")

Writes reports/<run-id>/: run.json, figures.jsonl, figures.json, verdicts.json, junit.xml,
gate.junit.xml, allure-results/ and index.html. Exit 0 pass, 1 test failure or gate failure.`,
  merge: `Usage: rig merge <shard run dir>... [--from DIR] [--out reports/] [--partial] [--id-suffix S]
                 [--no-gate] [--strict] [--summary FILE] [--json]

Makes one run (a new run id) of the shards of one \`rig run --shard I/N\` run, e.g. CI jobs' downloaded
run directories: run.json (tests summed, files joined, the first shard's environment, the shards
listed, earliest start, latest finish), figures.jsonl (exact duplicates once), allure-results/ and
the browser suites' results; vitest merges the blob reports (vitest --merge-reports), so its
reporters write junit.xml and vitest-summary.json. Then the gate and the reports as after
\`rig run\`, and reports/latest. Merge on the OS the shards ran on: blob reports hold absolute paths.
  --from       a folder searched for shard run directories (4 levels deep)
  --out        the reports folder the merged run is written into (default reports/)
  --partial    merge although shards are missing (otherwise RIG_MERGE_MISMATCH names them)
  --id-suffix  end the run id with S (e.g. ubuntu-24.04-node22): distinct ids across a CI matrix
Refuses (RIG_MERGE_INVALID, RIG_MERGE_MISMATCH) a folder without run.json, a run that is not a
shard, and shards of different profiles, commits, selections or shard counts.`,
  report: `Usage: rig report [--run reports/<run-id>] [--no-allure]
       rig report --combine DIR [--out DIR]

Builds, for a run (default: the latest): the Allure 3 report (allure-report/, with trend history in
reports/allure-history.jsonl), rig's self-contained index.html, figures.json, gate.junit.xml, and
reports/index.html listing every run.
  --combine DIR  only one Allure report of every run under DIR (e.g. a CI matrix's runs), written to
                 --out (default DIR/allure-report); each job's results are an Allure environment
                 named by its RIG_ALLURE_LABELS (os=..., node=...), so the same test of two jobs
                 is two results, not a retry; history: RIG_ALLURE_HISTORY or DIR/allure-history.jsonl`,
  gate: `Usage: rig gate [--run reports/<run-id>] [--baseline file] [--thresholds file]... [--alpha 0.005]
                [--tolerance 0.35] [--strict] [--update-baseline [--force]] [--json | --markdown]
                [--summary FILE]

Compares a run (default: the latest) with thresholds/*.json and reports/baselines/<profile>.json.
A figure the baseline calibrated (rig calibrate) is a regression when its change is beyond its own
between-run spread, with Holm's method holding the chance of any false alarm in the run to --alpha;
an instruction count (instr/op) is judged against a 1% band; an uncalibrated figure on its
within-run interval and the profile's band (--tolerance), and with neither, no verdict.
Prints figure, baseline, now, change, detectable, verdict, why. Exit 0 pass (figures with no
verdict are listed, never counted as passes), 1 breach or regression, 2 nothing could be judged
(with --strict: any figure with a rule or a baseline had no verdict) or a usage error.
  --markdown         print the table as GitHub-flavoured Markdown: a headline verdict, then the
                     rows, breaches and regressions first
  --summary FILE     also append that Markdown to FILE (GitHub: --summary "$GITHUB_STEP_SUMMARY")
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
  site: `Usage: rig site [--from reports/] [--out site/] [--history PREVIOUS_SITE] [--keep 50] [--allure-keep 3]
                [--allure-report DIR]

Builds a static site over the run history, offline (chart.js and every asset local):
  index.html          every kept run: date, commit, branch, profile, machine, tests, gate verdict,
                      links to its HTML and Allure reports; the newest change points; the systems
  systems/<s>.html    each figure of a system: newest value and a trend line per profile
  figures/<id>.html   a figure over the runs of each profile: value with its 95% interval band, the
                      baseline's between-run noise band, thresholds as lines, change points
                      (e-divisive with a permutation test, or against the calibrated noise) naming
                      the first run and commit after the step and its size; hover a point for its
                      run, click it for the run's report
  changes.html        pick two runs: the figures that moved beyond their noise, largest first
  data/history.json   the history the next site carries over (--history)
  --history  a site rig built before (e.g. the gh-pages branch): its runs and reports are kept
  --keep     runs kept per profile; older ones are folded into a summary (rig.config.json site.keep)
  --allure-keep  how many of the newest runs keep their Allure report (megabytes each)
  --allure-report DIR  an Allure report to publish as allure/ and link from the index
                       (rig report --combine makes one of every job's results)
--out is replaced: it must be absent, empty, or a site rig built.`,
  doctor: `Usage: rig doctor [--json]

Checks what this machine offers and what each system needs (its doctor() in system.ts, e.g. the
queue's addon, the inference models) and says how to get what is missing.`,
};
