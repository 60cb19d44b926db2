//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`), once per
//! process.
//!
//! Search order: `ORT_DYLIB_PATH` (a file; when set it must exist), then the given extra
//! directories, then the directory of the binary that contains this code (the plugin's `.so`
//! when the engine runs inside a plugin), then the directory of the current executable and its
//! parent (`target/<profile>/deps/..` for tests), then the project cache
//! `<workspace>/target/onnxruntime/` (for development, written by `cargo xtask setup`).

use crate::error::{Error, Result};
use ort::environment::Environment;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};

/// The project cache written by `cargo xtask setup`, known at compile time.
fn workspace_cache() -> PathBuf {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR"));
    engine
        .parent()
        .unwrap_or(engine)
        .join("target")
        .join("onnxruntime")
}

/// Library file names tried in each directory, most specific first.
fn library_names() -> Vec<String> {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    vec![
        format!("{prefix}onnxruntime{suffix}.1.31.1"),
        format!("{prefix}onnxruntime{suffix}.1"),
        format!("{prefix}onnxruntime{suffix}"),
    ]
}

/// The file of the shared object or executable that contains this function: the plugin binary
/// when the engine is linked into a plugin (found with `dladdr`).
#[cfg(unix)]
pub fn containing_binary() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let address = containing_binary as *const () as *const libc::c_void;
    // SAFETY: dladdr only reads the address and fills `info`; `dli_fname`, when non-null, points
    // to a NUL-terminated string owned by the dynamic loader that lives as long as the object.
    unsafe {
        if libc::dladdr(address, info.as_mut_ptr()) == 0 {
            return None;
        }
        let info = info.assume_init();
        if info.dli_fname.is_null() {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname);
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
        path.is_absolute().then_some(path)
    }
}

#[cfg(not(unix))]
pub fn containing_binary() -> Option<PathBuf> {
    None
}

/// Where to look for ONNX Runtime, in order.
pub fn search_locations(extra_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = extra_dirs.to_vec();
    if let Some(binary) = containing_binary()
        && let Some(dir) = binary.parent()
    {
        dirs.push(dir.to_path_buf());
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        dirs.push(dir.to_path_buf());
        if let Some(parent) = dir.parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    dirs.push(workspace_cache());
    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    let mut files = Vec::new();
    for dir in unique {
        for name in library_names() {
            files.push(dir.join(name));
        }
    }
    files
}

/// The ONNX Runtime library to load: `ORT_DYLIB_PATH`, else the first existing file of
/// [`search_locations`]. The error lists every place it looked.
pub fn locate_onnxruntime(extra_dirs: &[PathBuf]) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::OnnxRuntimeMissing(format!(
                "ORT_DYLIB_PATH is set to {}, which is not a file; point it at libonnxruntime \
                 (version 1.31) or unset it",
                path.display()
            )))
        };
    }
    let candidates = search_locations(extra_dirs);
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect();
    Err(Error::OnnxRuntimeMissing(format!(
        "ONNX Runtime (libonnxruntime, version 1.31) not found. Set ORT_DYLIB_PATH to the library \
         file, or put it beside the netbend binary or plugin, or run `cargo xtask setup` for the \
         development cache. Looked in:\n{}",
        looked.join("\n")
    )))
}

struct Loaded {
    path: PathBuf,
    environment: Environment,
}

static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// Loads ONNX Runtime (first call only) and returns the process's environment and the library
/// path it came from. Later calls return the same environment whatever `extra_dirs` says.
pub fn environment(extra_dirs: &[PathBuf]) -> Result<(Environment, PathBuf)> {
    let mut loaded = LOADED.lock();
    if let Some(l) = loaded.as_ref() {
        return Ok((l.environment.clone(), l.path.clone()));
    }
    let path = locate_onnxruntime(extra_dirs)?;
    let builder = ort::init_from(&path).map_err(|e| {
        Error::OnnxRuntimeMissing(format!(
            "cannot load ONNX Runtime from {}: {e}",
            path.display()
        ))
    })?;
    let environment = builder
        .with_name("netbend")
        .build()
        .map_err(|e| Error::Runtime(format!("cannot create the ONNX Runtime environment: {e}")))?;
    *loaded = Some(Loaded {
        path: path.clone(),
        environment: environment.clone(),
    });
    Ok((environment, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_order_is_extra_dirs_then_binary_then_cache() {
        let extra = PathBuf::from("/opt/netbend-plugin");
        let places = search_locations(std::slice::from_ref(&extra));
        assert!(places[0].starts_with(&extra), "{places:?}");
        assert!(
            places.last().unwrap().starts_with(workspace_cache()),
            "{places:?}"
        );
        let exe_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        assert!(places.iter().any(|p| p.starts_with(&exe_dir)), "{places:?}");
        // In a test binary the code lives in the executable itself.
        assert_eq!(
            containing_binary().map(|p| p.canonicalize().unwrap()),
            Some(std::env::current_exe().unwrap().canonicalize().unwrap())
        );
    }
}
