//! `cargo xtask setup`: everything the project needs beyond the Rust toolchain and python3.
//!
//! 1. A project-local Python environment `.venv/` for `models/`, from the pinned
//!    `models/requirements.txt`. A copy of the requirements it was built from is kept in the
//!    venv, so an unchanged file means nothing to do.
//! 2. ONNX Runtime's shared library, taken from the `onnxruntime` wheel on PyPI (the only
//!    place these machines can fetch it from) into `target/onnxruntime/`.
//! 3. The optional system packages some tests need (Xvfb, ImageMagick, ffmpeg), installed with
//!    apt-get when this runs as root or with passwordless sudo (`system_packages`).
//!
//! Every step is idempotent and cheap when already done.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ORT_VERSION: &str = "1.31.1";
const REQUIREMENTS: &str = "models/requirements.txt";
/// Copy of the requirements inside the venv: written only after a successful install.
const VENV_STAMP: &str = "netbend-requirements.txt";

/// What later tasks need from setup.
pub struct Setup {
    pub root: PathBuf,
    pub venv_python: PathBuf,
    pub ort_dylib: PathBuf,
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

pub fn run() -> Result<Setup, String> {
    let root = workspace_root();
    println!("[setup] workspace {}", root.display());
    let venv_python = ensure_venv(&root)?;
    let ort_dylib = ensure_onnxruntime(&root, || Ok(venv_python.clone()))?;
    println!("[setup] ORT_DYLIB_PATH={}", ort_dylib.display());
    crate::system_packages::ensure();
    Ok(Setup {
        root,
        venv_python,
        ort_dylib,
    })
}

/// ONNX Runtime's shared library alone (what a bundle ships), fetched with the system Python's
/// pip when not cached: no venv, no PyTorch.
pub fn onnxruntime_only() -> Result<PathBuf, String> {
    let root = workspace_root();
    let ort_dylib = ensure_onnxruntime(&root, || {
        system_python(PythonUse::PipDownload).map(PathBuf::from)
    })?;
    println!("[setup] ONNX Runtime: {}", ort_dylib.display());
    Ok(ort_dylib)
}

/// Runs a command with inherited output; errors name the command and its exit status.
pub fn run_command(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not start {what} ({command:?}): {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        text.trim().to_string()
    })
}

/// What the system Python is needed for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PythonUse {
    /// Creating `.venv/` (needs venv and pip).
    Venv,
    /// Only downloading and unpacking the ONNX Runtime wheel (needs pip).
    PipDownload,
}

/// The system Python: `NETBEND_SYSTEM_PYTHON` or `python3`, checked for what `purpose` needs.
/// (Not the Python tests run, `NETBEND_TEST_PYTHON`: that one is `.venv/`'s by default.)
fn system_python(purpose: PythonUse) -> Result<String, String> {
    // The old name meant this Python here and the tests' Python in some tests: refused rather
    // than silently ignored, so that a setting made for it is not lost unnoticed.
    if std::env::var_os("NETBEND_PYTHON").is_some() {
        return Err(
            "NETBEND_PYTHON is no longer read: the system python3 that creates .venv/ is \
             NETBEND_SYSTEM_PYTHON, the Python that tests run is NETBEND_TEST_PYTHON"
                .to_string(),
        );
    }
    let python = std::env::var("NETBEND_SYSTEM_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let (needs, packages) = match purpose {
        PythonUse::Venv => ("pip and venv", "python3 python3-pip python3-venv"),
        PythonUse::PipDownload => ("pip", "python3 python3-pip"),
    };
    let version = command_output(&python, &["--version"]).ok_or_else(|| {
        format!(
            "`{python}` was not found. Netbend's setup needs Python 3.10 or newer with {needs} \
             (Debian/Ubuntu: `apt-get install {packages}`), or set NETBEND_SYSTEM_PYTHON to a Python 3 \
             interpreter."
        )
    })?;
    let minor_ok = version
        .strip_prefix("Python 3.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse::<u32>().ok())
        .is_some_and(|minor| minor >= 10);
    if !minor_ok {
        return Err(format!(
            "`{python}` is {version}; Netbend needs Python 3.10 or newer."
        ));
    }
    if purpose == PythonUse::Venv && command_output(&python, &["-m", "venv", "--help"]).is_none() {
        return Err(format!(
            "{version} at `{python}` has no `venv` module (Debian/Ubuntu: `apt-get install python3-venv`)."
        ));
    }
    if command_output(&python, &["-m", "pip", "--version"]).is_none() {
        return Err(format!(
            "{version} at `{python}` has no `pip` (Debian/Ubuntu: `apt-get install python3-pip`)."
        ));
    }
    Ok(python)
}

fn ensure_venv(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".venv");
    let venv_python = venv.join("bin").join("python");
    let requirements_path = root.join(REQUIREMENTS);
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let stamp = venv.join(VENV_STAMP);
    if venv_python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements) {
        println!("[setup] Python environment .venv/ is up to date");
        return Ok(venv_python);
    }
    if !venv_python.exists() {
        let python = system_python(PythonUse::Venv)?;
        println!("[setup] creating Python environment .venv/ with {python}");
        run_command(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "creating the Python environment",
        )?;
    }
    println!(
        "[setup] installing {} into .venv/ (PyTorch is large: a few minutes the first time)",
        REQUIREMENTS
    );
    run_command(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
                "-r",
            ])
            .arg(&requirements_path),
        "pip install of models/requirements.txt",
    )?;
    fs::write(&stamp, &requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    println!("[setup] Python environment ready");
    Ok(venv_python)
}

/// The cached library, or the wheel fetched and unpacked with the Python `python` returns (only
/// asked for when the library is not cached yet).
fn ensure_onnxruntime(
    root: &Path,
    python: impl FnOnce() -> Result<PathBuf, String>,
) -> Result<PathBuf, String> {
    let cache = target_dir(root).join("onnxruntime");
    let library_name = format!("libonnxruntime.so.{ORT_VERSION}");
    let library = cache.join(&library_name);
    if fs::metadata(&library).is_ok_and(|m| m.len() > 1_000_000) {
        println!(
            "[setup] ONNX Runtime {ORT_VERSION} present in {}",
            cache.display()
        );
        return Ok(library);
    }
    let python = python()?;
    let wheel_dir = cache.join("wheel");
    fs::create_dir_all(&wheel_dir)
        .map_err(|e| format!("cannot create {}: {e}", wheel_dir.display()))?;
    println!("[setup] downloading the onnxruntime=={ORT_VERSION} wheel from PyPI");
    run_command(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary",
                ":all:",
            ])
            .arg(format!("onnxruntime=={ORT_VERSION}"))
            .arg("-d")
            .arg(&wheel_dir),
        "pip download of the ONNX Runtime wheel",
    )?;
    println!("[setup] extracting {library_name}");
    // The wheel is a zip; Python's zipfile avoids a zip dependency here. Extract to a temporary
    // name and rename, so an interrupted setup never leaves a truncated library behind.
    let partial = cache.join(format!("{library_name}.partial"));
    let script = format!(
        "import glob, sys, zipfile\n\
         wheels = sorted(glob.glob(sys.argv[1] + '/onnxruntime-{ORT_VERSION}-*.whl'))\n\
         if not wheels: sys.exit('no onnxruntime {ORT_VERSION} wheel in ' + sys.argv[1])\n\
         member = 'onnxruntime/capi/{library_name}'\n\
         with zipfile.ZipFile(wheels[-1]) as z, open(sys.argv[2], 'wb') as out:\n\
         \x20   out.write(z.read(member))\n"
    );
    run_command(
        Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(&wheel_dir)
            .arg(&partial),
        "extracting ONNX Runtime from its wheel",
    )?;
    fs::rename(&partial, &library)
        .map_err(|e| format!("cannot move {} into place: {e}", library.display()))?;
    Ok(library)
}
