//! The sizes an experiment file may ask for, checked before anything is allocated or
//! trained. Each is far above what a real study uses (the committed study has 120 cells
//! and 5 seeds), and far below what would exhaust a machine. `experiments/README.md` lists
//! them; the per-run limits (points, epochs, steps) live in `ddpm::config`.

use std::io::Read;
use std::path::Path;

/// The most cells an experiment may expand to (counted before expanding).
pub const MAX_CELLS: u64 = 100_000;
/// The largest `seeds = N`.
pub const MAX_SEEDS: u64 = 10_000;
/// The most values one `[grid]` list or `[[zip]]` may have.
pub const MAX_AXIS_VALUES: usize = 10_000;
/// The longest experiment `name` (it names files and folders).
pub const MAX_NAME_CHARS: usize = 100;
/// The longest key echoed back in a message, and searched for a "did you mean".
pub const MAX_KEY_CHARS: usize = 100;
/// The most worker threads of a sweep (`--jobs`).
pub const MAX_JOBS: usize = 1024;
/// The largest experiment or run-config file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a text file of at most [`MAX_FILE_BYTES`], which must be a regular file: a
/// device (`/dev/zero`), a pipe or a directory is refused before reading. `Err` is the
/// reason in words.
pub fn read_text_file(path: &Path) -> std::result::Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|err| format!("cannot read it: {err}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes, more than the limit of {MAX_FILE_BYTES} bytes (1 MiB)",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|err| format!("cannot read it: {err}"))?;
    // The file may grow between the check and the read: never take more than the limit.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read it: {err}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "more than the limit of {MAX_FILE_BYTES} bytes (1 MiB)"
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        format!("not UTF-8 text (the first byte that is not is at line {line}, column {column})")
    })
}

/// `text` cut to [`MAX_KEY_CHARS`] characters for a message, marked when cut.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_KEY_CHARS) {
        Some((at, _)) => format!("{}… ({} characters)", &text[..at], text.chars().count()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_and_large_files_are_refused_before_reading() {
        assert_eq!(
            read_text_file(Path::new("/dev/zero")).unwrap_err(),
            "not a regular file"
        );
        assert_eq!(
            read_text_file(Path::new("/")).unwrap_err(),
            "not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(read_text_file(&big)
            .unwrap_err()
            .contains("more than the limit"));
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "name = \"x\"\n").unwrap();
        assert_eq!(read_text_file(&ok).unwrap(), "name = \"x\"\n");
        assert!(read_text_file(&dir.path().join("missing"))
            .unwrap_err()
            .starts_with("cannot read it"));
    }

    #[test]
    fn a_file_that_is_not_utf8_is_placed_at_its_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, b"name = \"x\"\nseeds = \xff\n").unwrap();
        assert_eq!(
            read_text_file(&file).unwrap_err(),
            "not UTF-8 text (the first byte that is not is at line 2, column 9)"
        );
    }

    #[test]
    fn long_keys_are_cut_for_messages() {
        assert_eq!(shorten("abc"), "abc");
        let long = "k".repeat(20_000);
        let cut = shorten(&long);
        assert!(
            cut.len() < 150 && cut.ends_with("(20000 characters)"),
            "{cut}"
        );
    }
}
