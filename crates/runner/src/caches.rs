//! The caches of the core a process runs on, as the kernel reports them: what the fused
//! training step sizes its blocks by (see [`tune_training_blocks`]) and what the bench prints.

use serde::Serialize;

/// One cache of CPU 0, from `/sys/devices/system/cpu/cpu0/cache/index*/` (what the
/// kernel reads from the CPU; `getconf` reports other L3 sizes on some of these machines).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Cache {
    /// 1, 2, 3.
    pub level: u32,
    /// `Data`, `Instruction` or `Unified`.
    pub kind: String,
    /// Bytes.
    pub bytes: u64,
}

impl Cache {
    /// `L1d`, `L1i`, `L2`, `L3`.
    pub fn name(&self) -> String {
        match self.kind.as_str() {
            "Data" => format!("L{}d", self.level),
            "Instruction" => format!("L{}i", self.level),
            _ => format!("L{}", self.level),
        }
    }
}

/// The caches of CPU 0, smallest level first.
pub fn of_cpu0() -> Vec<Cache> {
    let mut out = Vec::new();
    for index in 0.. {
        let dir =
            std::path::PathBuf::from(format!("/sys/devices/system/cpu/cpu0/cache/index{index}"));
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            break;
        };
        let (Ok(level), Some(bytes)) = (level.trim().parse(), parse_size(size.trim())) else {
            continue;
        };
        out.push(Cache {
            level,
            kind: kind.trim().to_string(),
            bytes,
        });
    }
    out
}

/// `32K`, `1024K`, `32M` (the kernel's notation) as bytes.
fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let value: u64 = digits.parse().ok()?;
    let scale = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    Some(value * scale)
}

/// The L2 cache of CPU 0 in bytes (the level-2 data or unified cache), if the kernel says.
pub fn l2_bytes() -> Option<u64> {
    of_cpu0()
        .into_iter()
        .find(|c| c.level == 2 && c.kind != "Instruction")
        .map(|c| c.bytes)
}

/// Sizes the blocks of every training step of this process for this core's L2 cache
/// ([`ddpm::fused::rows_per_block_for`]); leaves the default where the kernel names no L2.
/// Block size never changes a result's bits, only its speed. Returns the rows chosen.
pub fn tune_training_blocks() -> usize {
    if let Some(l2) = l2_bytes() {
        ddpm::fused::set_rows_per_block(ddpm::fused::rows_per_block_for(l2));
    }
    ddpm::fused::rows_per_block()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_read_as_the_kernel_writes_them() {
        assert_eq!(parse_size("32K"), Some(32 * 1024));
        assert_eq!(parse_size("1024K"), Some(1024 * 1024));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn the_caches_of_this_machine_are_named_by_level_and_kind() {
        for cache in of_cpu0() {
            assert!(cache.bytes > 0);
            assert!(matches!(
                cache.name().as_str(),
                "L1d" | "L1i" | "L2" | "L3" | "L4"
            ));
        }
    }
}
