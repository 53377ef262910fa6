//! Calling a backend safely: the one panic guard every backend call runs under, and the
//! one result of a call that was given one job.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `call`, with a panic turned into the message a failed run records
/// (`panicked: <message>`), so that a panicking backend fails its runs, not the sweep.
pub(crate) fn guarded<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(call))
        .map_err(|payload| format!("panicked: {}", panic_message(payload.as_ref())))
}

/// The result of a guarded backend call that was given one job, with the backend's
/// error in words.
pub(crate) fn single<T>(results: Result<Vec<ddpm::Result<T>>, String>) -> Result<T, String> {
    let mut results = results?;
    match (results.pop(), results.len()) {
        (Some(result), 0) => result.map_err(|err| err.to_string()),
        (last, others) => Err(format!(
            "the backend gave {} results for one job",
            others + usize::from(last.is_some())
        )),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_message() {
        let result: Result<Vec<ddpm::Result<()>>, String> = guarded(|| panic!("no {}", "luck"));
        assert_eq!(single(result), Err("panicked: no luck".to_string()));
        assert_eq!(single(guarded(|| vec![Ok(3)])), Ok(3));
        assert_eq!(
            single::<u8>(guarded(Vec::new)),
            Err("the backend gave 0 results for one job".to_string())
        );
    }
}
