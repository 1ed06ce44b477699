//! Black-box fault scenarios against a containerised beredd cluster (issue 5).
//!
//! Each run starts a fresh cluster from the shipped Compose files, puts a write load on it with
//! recording clients, injects one fault with docker, heals it, and checks the recorded history
//! against every node's state (see `checker`). It prints a table of figures per run, with the
//! seed that replays it (`--only NAME --runs 1 --seed S`: the same choices of node and timing;
//! the interleaving of requests is up to the machine). Depends on no workspace crate.

mod checker;
mod docker;
mod http;
mod load;
mod scenarios;

use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;

use checker::Figures;
use docker::Cluster;
use load::Load;
use scenarios::{ALL, Ctx, QUICK, Scenario};

#[derive(Parser)]
#[command(about = "Fault scenarios against a containerised beredd cluster")]
struct Args {
    /// Only the quick subset (a leader kill and a partition, one run each), as in `make test`.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated names; `--list` shows them).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Runs of each scenario.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Seed of the first run; each further run uses the next number. Default: from the clock.
    #[arg(long)]
    seed: Option<u64>,
    /// The image to run (build it with deploy/build-image.sh).
    #[arg(long, default_value = "beredd:local")]
    image: String,
    /// The repository (for deploy/compose).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Also write the report (Markdown) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Concurrent writing clients.
    #[arg(long, default_value_t = 3)]
    writers: usize,
    /// Leave the containers of a failed run in place for a look.
    #[arg(long)]
    keep: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

struct RunResult {
    scenario: &'static str,
    nodes: usize,
    run: u32,
    seed: u64,
    secs: f64,
    figures: Result<Figures>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.list {
        for s in ALL {
            println!("{:<18} {} nodes  {}", s.name, s.nodes, s.what);
        }
        return Ok(());
    }
    let chosen: Vec<&Scenario> = if !args.only.is_empty() {
        args.only
            .iter()
            .map(|n| ALL.iter().find(|s| s.name == n).with_context(|| format!("no scenario {n:?} (see --list)")))
            .collect::<Result<_>>()?
    } else if args.quick {
        ALL.iter().filter(|s| QUICK.contains(&s.name)).collect()
    } else {
        ALL.iter().collect()
    };
    let runs = if args.quick && args.only.is_empty() { 1 } else { args.runs };
    docker::docker(&["image", "inspect", "-f", "{{.Id}}", &args.image])
        .with_context(|| format!("image {} not found: build it with deploy/build-image.sh", args.image))?;
    docker::remove_abandoned();
    let mut seed = args
        .seed
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() % 1_000_000).unwrap_or(1));
    let mut results = Vec::new();
    for s in &chosen {
        for run in 1..=runs {
            eprintln!("== {} run {run}/{runs} (seed {seed}): {}", s.name, s.what);
            let started = Instant::now();
            let figures = run_once(&args, s, run, seed);
            match &figures {
                Ok(f) if f.violations().is_empty() => eprintln!("   ok: {} acked, 0 lost", f.acked),
                Ok(f) => eprintln!("   FAILED: {}", f.violations().join("; ")),
                Err(e) => eprintln!("   FAILED: {e:#}"),
            }
            results.push(RunResult {
                scenario: s.name,
                nodes: s.nodes,
                run,
                seed,
                secs: started.elapsed().as_secs_f64(),
                figures,
            });
            seed += 1;
        }
    }
    // Again at the end: a killed run's docker-compose may have gone on creating containers
    // after the sweep at the start.
    docker::remove_abandoned();
    let report = report(&results);
    println!("{report}");
    if let Some(p) = &args.report {
        std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
    }
    let failed = results.iter().filter(|r| r.figures.as_ref().map_or(true, |f| !f.violations().is_empty())).count();
    if failed > 0 {
        bail!("{failed} of {} runs failed", results.len());
    }
    Ok(())
}

fn run_once(args: &Args, s: &Scenario, run: u32, seed: u64) -> Result<Figures> {
    let tag = format!("{}{run}", s.name.replace('-', ""));
    let mut cluster = Cluster::up(&args.repo, s.nodes, &args.image, &tag, args.keep, 400)?;
    let out = (|| {
        cluster.setup()?;
        let mut load = Load::start(&cluster.members, &cluster.token, args.writers, seed, &format!("s{seed}"));
        sleep(Duration::from_secs(3));
        let mut ctx =
            Ctx { cluster: &mut cluster, load: &mut load, rng: StdRng::seed_from_u64(seed), seed, notes: Vec::new() };
        let fault = (s.run)(&mut ctx);
        let notes = std::mem::take(&mut ctx.notes);
        // Some load after the heal, then every client finishes what it is doing.
        sleep(Duration::from_secs(3));
        let history = load.finish();
        let fault = fault?;
        let digests = cluster.wait_converged(Duration::from_secs(60));
        let state = checker::read_final_state(&cluster.api(Duration::from_secs(20)), &cluster.members)?;
        let mut f = checker::check(&history, &state, fault, digests);
        f.notes = notes;
        let errors: Vec<&str> = history.ops.iter().filter_map(|o| o.last_error.as_deref()).collect();
        let retried = history.ops.iter().filter(|o| o.outcome == load::Outcome::Acked && o.ambiguous > 0).count();
        f.notes.push(format!(
            "{retried} acknowledged writes had an earlier attempt without a clear answer and were sent again with the same key"
        ));
        if let Some(e) = errors.last() {
            f.notes.push(format!("{} operations saw errors before their outcome; the last: {e}", errors.len()));
        }
        Ok(f)
    })();
    if out.as_ref().map_or(true, |f: &Figures| !f.violations().is_empty()) {
        eprintln!("--- last log lines of {} ---\n{}", cluster.project, cluster.logs());
    }
    out
}

fn report(results: &[RunResult]) -> String {
    let mut s = String::from(
        "| scenario | nodes | run | seed | no leader (s) | fault → first ack (s) | acked | refused | unknown (applied) | lost | result | took (s) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut details = String::new();
    for r in results {
        match &r.figures {
            Ok(f) => {
                let v = f.violations();
                s += &format!(
                    "| {} | {} | {} | {} | {:.1} | {} | {} | {} | {} ({}) | {} | {} | {:.0} |\n",
                    r.scenario,
                    r.nodes,
                    r.run,
                    r.seed,
                    f.leaderless_s,
                    f.first_ack_s.map_or("–".into(), |x| format!("{x:.1}")),
                    f.acked,
                    f.refused,
                    f.unknown,
                    f.unknown_applied,
                    f.lost.len(),
                    if v.is_empty() { "ok" } else { "FAILED" },
                    r.secs
                );
                for line in f.notes.iter().chain(v.iter()) {
                    details += &format!("- {} #{} (seed {}): {line}\n", r.scenario, r.run, r.seed);
                }
            }
            Err(e) => {
                s += &format!(
                    "| {} | {} | {} | {} | – | – | – | – | – | – | ERROR | {:.0} |\n",
                    r.scenario, r.nodes, r.run, r.seed, r.secs
                );
                details += &format!("- {} #{} (seed {}): error: {e:#}\n", r.scenario, r.run, r.seed);
            }
        }
    }
    format!("{s}\n{details}")
}
