//! What a vector test checked, so that it can assert that every case of its
//! file was looked at and every kind it knows occurred, without knowing how
//! many there are.

use std::collections::BTreeMap;

/// Counts the cases of one file a test checked, by kind.
///
/// A test calls [`check`](Coverage::check) for each case it verified and
/// [`elsewhere`](Coverage::elsewhere) for each case another test verifies;
/// [`finish`](Coverage::finish) then asserts that both add up to the number
/// of cases of the file and that each kind the test handles was seen.
///
/// ```
/// let cases = vec![
///     serde_json::json!({"kind": "a"}),
///     serde_json::json!({"kind": "b"}),
///     serde_json::json!({"kind": "a"}),
/// ];
/// let mut seen = status_vectors::Coverage::new("example.json", cases.len());
/// for case in &cases {
///     match case["kind"].as_str().unwrap() {
///         "a" => seen.check("a"),
///         _ => seen.elsewhere(),
///     }
/// }
/// seen.finish(&["a"]);
/// ```
#[derive(Debug)]
#[must_use = "call finish() to assert the coverage"]
pub struct Coverage {
    file: String,
    total: usize,
    elsewhere: usize,
    kinds: BTreeMap<String, usize>,
}

impl Coverage {
    /// For a file (named in messages) of `total` cases.
    pub fn new(file: &str, total: usize) -> Self {
        Coverage {
            file: file.to_owned(),
            total,
            elsewhere: 0,
            kinds: BTreeMap::new(),
        }
    }

    /// One case of `kind` was checked.
    pub fn check(&mut self, kind: &str) {
        *self.kinds.entry(kind.to_owned()).or_default() += 1;
    }

    /// One case belongs to another test.
    pub fn elsewhere(&mut self) {
        self.elsewhere += 1;
    }

    /// How many cases of `kind` were checked so far.
    pub fn count(&self, kind: &str) -> usize {
        self.kinds.get(kind).copied().unwrap_or(0)
    }

    /// Asserts that every kind in `kinds` was checked at least once and that
    /// every case of the file was either checked or left to another test.
    ///
    /// # Panics
    /// Naming the file, the missing kinds and the counts.
    pub fn finish(self, kinds: &[&str]) {
        let missing: Vec<&&str> = kinds.iter().filter(|k| self.count(k) == 0).collect();
        assert!(
            missing.is_empty(),
            "{}: no case of kind {missing:?} (checked: {:?})",
            self.file,
            self.kinds
        );
        let checked: usize = self.kinds.values().sum();
        assert_eq!(
            checked + self.elsewhere,
            self.total,
            "{}: {checked} cases checked and {} left to other tests, of {}",
            self.file,
            self.elsewhere,
            self.total
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "no case of kind [\"b\"]")]
    fn a_missing_kind_fails() {
        let mut c = Coverage::new("f", 1);
        c.check("a");
        c.finish(&["a", "b"]);
    }

    #[test]
    #[should_panic(expected = "1 cases checked and 0 left to other tests, of 2")]
    fn an_unchecked_case_fails() {
        let mut c = Coverage::new("f", 2);
        c.check("a");
        c.finish(&["a"]);
    }
}
