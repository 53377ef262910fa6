//! Counts with their nouns in messages: `1 run`, `2 runs`, `1 entry is`, `0 entries are`.

/// `n` followed by `one` when `n` is 1, else by `many`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", agree(n, one, many))
}

/// The word that agrees with a count of `n`: `one` for 1, `many` for any other count
/// (`agree(n, "is", "are")`, `agree(n, "it", "them")`).
pub fn agree<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "stored run", "stored runs"), "1 stored run");
        assert_eq!(counted(0, "entry", "entries"), "0 entries");
        assert_eq!(counted(2, "cell", "cells"), "2 cells");
        assert_eq!(
            (
                agree(1, "is", "are"),
                agree(0, "is", "are"),
                agree(3, "it", "them")
            ),
            ("is", "are", "them")
        );
    }
}
