//! What the Netbend test crates share (a dev-dependency of each): the workspace's test data, the
//! reference Python (`NETBEND_TEST_PYTHON`), running a command and failing with its output, the
//! `netbend` binary of this checkout, and the raw little-endian number files that pass arrays to
//! and from the Python references.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support lives two levels below the workspace root")
        .to_path_buf()
}

/// A file or folder of `tests/data/`.
pub fn test_data(name: &str) -> PathBuf {
    workspace_root().join("tests/data").join(name)
}

/// The variable naming the Python that tests run: one with models/requirements.txt installed
/// (NumPy, SciPy, PyTorch, onnxruntime). Not the system `python3` that `cargo xtask setup` makes
/// `.venv/` with: that one is `NETBEND_SYSTEM_PYTHON`.
pub const TEST_PYTHON_VARIABLE: &str = "NETBEND_TEST_PYTHON";

/// The reference Python: `$NETBEND_TEST_PYTHON`, else `<workspace>/.venv/bin/python` (made by
/// `cargo xtask setup`). Missing is a failure, not a skip: these tests are the independent
/// references.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(locate_python).clone()
}

fn locate_python() -> PathBuf {
    if let Some(path) = std::env::var_os(TEST_PYTHON_VARIABLE) {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "{TEST_PYTHON_VARIABLE}={} does not exist",
            path.display()
        );
        return path;
    }
    // The names used before the two meanings were separated: a setting that silently stopped
    // counting would test another Python than the one asked for.
    for old in ["NETBEND_VENV_PYTHON", "NETBEND_PYTHON"] {
        assert!(
            std::env::var_os(old).is_none(),
            "{old} is no longer read: the Python that tests run is {TEST_PYTHON_VARIABLE} (default \
             .venv/bin/python), the system python3 that `cargo xtask setup` creates .venv/ with \
             is NETBEND_SYSTEM_PYTHON"
        );
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python for the reference computations: {} is missing and {TEST_PYTHON_VARIABLE} is \
         unset. Run `cargo xtask setup`, or set {TEST_PYTHON_VARIABLE} to a Python with \
         models/requirements.txt installed.",
        venv.display()
    );
    venv
}

/// The reference Python as a command, single-threaded: reproducible reductions, and the tests
/// already run in parallel.
pub fn python_command() -> Command {
    let mut command = Command::new(python());
    command.env("OMP_NUM_THREADS", "1");
    command
}

/// `python -c script`; arguments added to the command are the script's `sys.argv[1:]`.
pub fn python_script(script: &str) -> Command {
    let mut command = python_command();
    command.arg("-c").arg(script);
    command
}

/// Runs `script` with the reference Python, `args` as its `sys.argv[1:]`; fails with its output
/// unless it succeeds.
pub fn run_python<S: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = S>) -> Output {
    run_ok(python_script(script).args(args), "the reference Python")
}

/// `python -m module` run from `models/`, where the `netbend_models` package lives.
pub fn python_module(module: &str) -> Command {
    let mut command = python_command();
    command
        .args(["-m", module])
        .current_dir(workspace_root().join("models"));
    command
}

/// Writes a small random-weight audio model to `dir` (width 1/16, so tests stay quick) together
/// with its decoder exported without bend blocks, `decoder-unbent.onnx`: `python -m
/// netbend_models.bench.vae --save-model`, with `extra` options.
pub fn export_bench_model(dir: &Path, extra: &[&str]) {
    run_ok(
        python_module("netbend_models.bench.vae")
            .args(["--width", "0.0625"])
            .args(extra)
            .arg("--save-model")
            .arg(dir),
        "netbend_models.bench.vae --save-model",
    );
}

/// Runs `command` to the end; fails naming `what`, with its stdout and stderr, unless it exits
/// with success.
pub fn run_ok(command: &mut Command, what: &str) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `netbend` binary of this checkout, built (once per test process) with the same profile
/// and target directory as the running test, so the test always exercises current sources. (The
/// CLI's own tests use Cargo's `CARGO_BIN_EXE_netbend` instead.)
pub fn netbend_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_netbend).clone()
}

fn build_netbend() -> PathBuf {
    // The test executable is <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable inside <target>/<profile>/deps");
    let target_dir = profile_dir
        .parent()
        .expect("profile directory inside target");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "--quiet", "-p", "netbend-cli", "--bin", "netbend"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command.status().expect("cannot run cargo to build netbend");
    assert!(status.success(), "building netbend failed ({status})");
    let binary = profile_dir.join("netbend");
    assert!(
        binary.exists(),
        "{} missing after the build",
        binary.display()
    );
    binary
}

/// Runs the `netbend` of this checkout with `args` (whatever its exit status).
pub fn netbend<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    Command::new(netbend_binary())
        .args(args)
        .output()
        .expect("cannot run netbend")
}

/// [`netbend`], failing with its output unless it succeeds.
pub fn netbend_ok<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    run_ok(Command::new(netbend_binary()).args(args), "netbend")
}

/// For argument lists that mix words and paths: `[os("--in"), input.as_os_str()]`.
pub fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// The names in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A number written as NumPy's `tofile` / read by its `fromfile`: little-endian, no header.
pub trait RawNumber: Copy {
    const SIZE: usize;
    /// NumPy's name of the type.
    const DTYPE: &'static str;
    fn put(self, bytes: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! raw_number {
    ($($t:ty: $dtype:literal),*) => {$(
        impl RawNumber for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const DTYPE: &'static str = $dtype;
            fn put(self, bytes: &mut Vec<u8>) {
                bytes.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().unwrap())
            }
        }
    )*};
}
raw_number!(f32: "float32", f64: "float64", i64: "int64");

pub fn write_raw<T: RawNumber>(path: &Path, data: &[T]) {
    let mut bytes = Vec::with_capacity(data.len() * T::SIZE);
    for &x in data {
        x.put(&mut bytes);
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

pub fn read_raw<T: RawNumber>(path: &Path) -> Vec<T> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.len() % T::SIZE,
        0,
        "{}: partial number",
        path.display()
    );
    bytes.chunks_exact(T::SIZE).map(T::get).collect()
}

/// `||a - b|| / ||a||` (0 for two silent signals).
pub fn relative_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut e, mut n) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        e += ((x - y) as f64).powi(2);
        n += (x as f64).powi(2);
    }
    (e / n.max(1e-30)).sqrt()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
