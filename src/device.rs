//! Which device the tensors live on: one place decides.
//!
//! [`device`] picks CUDA when libtorch sees a GPU, else the CPU. The
//! environment variable `GAN_TUTORIAL_DEVICE` (`cpu`, `cuda`, `cuda:N`, or
//! `auto`) overrides that choice; asking for CUDA where there is none is an
//! error that says so, never a silent fall-back.
use crate::error::{Error, Result};
use tch::{Cuda, Device};

/// The environment variable that overrides the automatic choice.
pub const DEVICE_ENV: &str = "GAN_TUTORIAL_DEVICE";

/// The device to compute on: `GAN_TUTORIAL_DEVICE` if set, else CUDA device 0
/// when available, else the CPU.
///
/// ```
/// let dev = gan_tutorial::device().unwrap();
/// println!("computing on {dev:?}");
/// ```
pub fn device() -> Result<Device> {
    match std::env::var(DEVICE_ENV) {
        Ok(s) if !s.trim().is_empty() => parse_device(&s).map_err(|e| match e {
            Error::Device(msg) => Error::Device(format!("{DEVICE_ENV}={s:?}: {msg} (or unset {DEVICE_ENV})")),
            other => other,
        }),
        _ => Ok(Device::cuda_if_available()),
    }
}

/// The device a config or a flag asks for: `Some(spec)` is parsed and
/// checked ([`parse_device`]); `None` is [`device`]'s choice.
pub fn resolve(choice: Option<&str>) -> Result<Device> {
    match choice {
        Some(spec) => parse_device(spec),
        None => device(),
    }
}

/// Parses `cpu`, `cuda`, `cuda:N`, `gpu` or `auto` (case-insensitive) and checks that the
/// device exists on this machine.
pub fn parse_device(spec: &str) -> Result<Device> {
    let s = spec.trim().to_ascii_lowercase();
    let cuda_index = match s.as_str() {
        "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        "cuda" | "gpu" => 0,
        _ => match s.strip_prefix("cuda:") {
            Some(n) => n.parse::<usize>().map_err(|_| {
                Error::Device(format!("`{spec}` has no valid device index: write cuda:0, cuda:1, ..."))
            })?,
            None => {
                return Err(Error::Device(format!(
                    "`{spec}` is not a device: use cpu, cuda, cuda:N or auto"
                )))
            }
        },
    };
    if !Cuda::is_available() {
        return Err(Error::Device(format!(
            "`{spec}` asks for CUDA, but libtorch sees no CUDA device on this machine \
             (no GPU, no driver, or a CPU-only libtorch): use cpu"
        )));
    }
    let count = Cuda::device_count() as usize;
    if cuda_index >= count {
        return Err(Error::Device(format!(
            "`{spec}` asks for CUDA device {cuda_index}, but only {count} device(s) exist: use cuda:0..cuda:{}",
            count - 1
        )));
    }
    Ok(Device::Cuda(cuda_index))
}

/// A short human-readable name: `cpu` or `cuda:0`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Bytes of memory the operating system says a new allocation can still get
/// on `device` (Linux's `MemAvailable` for the CPU); `None` where it cannot
/// be known here (CUDA: libtorch's C API gives no free-memory figure).
pub fn available_memory(device: Device) -> Option<u64> {
    if device != Device::Cpu {
        return None;
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Facts about the libtorch this program runs on, for run records and bug reports.
pub fn runtime_info() -> serde_json::Value {
    serde_json::json!({
        "tch": "0.26",
        "built_against": option_env!("GAN_TUTORIAL_LIBTORCH_LIB"),
        "cuda_available": tch::Cuda::is_available(),
        "cuda_devices": tch::Cuda::device_count(),
        "cudnn_available": tch::Cuda::cudnn_is_available(),
        "threads": tch::get_num_threads(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_reports_some_available_memory() {
        let bytes = available_memory(Device::Cpu).expect("Linux has /proc/meminfo");
        assert!(bytes > 1 << 20, "{bytes}");
    }

    #[test]
    fn cpu_and_auto_parse() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        assert_eq!(parse_device("auto").unwrap(), Device::cuda_if_available());
    }

    #[test]
    fn nonsense_is_a_clear_error() {
        let err = parse_device("tpu").unwrap_err().to_string();
        assert!(err.contains("tpu") && err.contains("cpu, cuda"), "{err}");
        let err = parse_device("cuda:x").unwrap_err().to_string();
        assert!(err.contains("cuda:0"), "{err}");
    }

    #[test]
    fn cuda_without_gpu_is_an_error_not_a_fallback() {
        // Cuda::is_available() must answer (false here, true on a GPU machine) without error.
        if Cuda::is_available() {
            assert_eq!(parse_device("cuda").unwrap(), Device::Cuda(0));
            assert!(parse_device("cuda:999").is_err());
        } else {
            let err = parse_device("cuda").unwrap_err().to_string();
            assert!(err.contains("no CUDA device"), "{err}");
            assert!(parse_device("cuda:1").is_err());
        }
    }
}
