//! What the benchmarks share: running the real binary, starting the real server, and reading
//! a process's memory from the kernel.
#![allow(dead_code)] // Each benchmark uses part of it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `lagesbild` binary, run in `dir` on the database `db` with the project's surveys and templates.
pub fn command(dir: &Path, db: &str) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut c = Command::new(env!("CARGO_BIN_EXE_lagesbild"));
    c.current_dir(dir)
        .env("DATABASE_URL", db)
        .env("SURVEYS_DIR", format!("{root}/surveys"))
        .env("TEMPLATES_DIR", format!("{root}/templates"));
    c
}

/// Runs a command to its end and returns what it printed; a failure stops the benchmark.
pub fn lagesbild(dir: &Path, db: &str, args: &[&str]) -> String {
    let out = command(dir, db).args(args).output().expect("the lagesbild binary runs");
    assert!(out.status.success(), "lagesbild {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates the round `bench` of the shipped survey, open from yesterday for a month.
pub fn open_round(dir: &Path, db: &str) {
    let today = jiff::Zoned::now().date();
    let (opens, closes) = (today.yesterday().unwrap(), today.saturating_add(jiff::Span::new().days(30)));
    let (opens, closes, year) = (opens.to_string(), closes.to_string(), today.year().to_string());
    let args = ["round", "create", "--survey", "lagesbild", "--year", &year, "--opens", &opens, "--closes", &closes];
    lagesbild(dir, db, &[&args[..], &["--key", "bench"]].concat());
}

/// The real server on a free port, and the address it printed. Stopped when dropped, also
/// when the benchmark fails half-way: no server is left running.
pub struct Server {
    pub process: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The personal links of a links file (`lagesbild links`), read by the column's name.
pub fn links(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let column = reader.headers().unwrap().iter().position(|h| h == "link").expect("a `link` column");
    reader.records().map(|r| r.unwrap()[column].to_string()).collect()
}

/// A figure against the floor measured in the same run, as the benchmarks print it.
pub fn ratio(what: &str, measured: f64, floor: f64, unit: &str) {
    println!(
        "{what}: {measured:.0} {unit} against a floor of {floor:.0} {unit} = {:.2} of the floor",
        measured / floor
    );
}

pub fn serve(dir: &Path, db: &str, env: &[(&str, &str)]) -> Server {
    let mut c = command(dir, db);
    c.args(["serve", "--bind", "127.0.0.1:0"]).env("LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut process = c.spawn().unwrap();
    let mut stdout = BufReader::new(process.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("the address is printed").to_string();
    // The rest is drained so that a full pipe never stalls the server.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Server { process, base }
}

/// A memory figure of a process in MiB, from `/proc/PID/status`: `VmHWM` is the peak
/// resident memory so far, `VmRSS` the resident memory now.
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}
