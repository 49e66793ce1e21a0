//! A student's hand-in folder (contract §8): which file is which problem's module (or Python
//! file, `.py`), under the names toolchains really produce. Cargo names a crate's output `q4_3.wasm`, people type
//! `Q4.3.wasm`, and archives unpack into one more folder; each is graded as meant, with a
//! note, and every other name gets a did-you-mean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub const ANSWERS_FILE: &str = "answers.toml";

/// What a hand-in folder holds for the course.
#[derive(Debug, Default, PartialEq)]
pub struct HandIn {
    /// The folder graded (the one given, or the single folder inside it).
    pub dir: PathBuf,
    /// Problem id → the file name of its module in `dir`.
    pub modules: BTreeMap<String, String>,
    /// Names accepted under an alias, a folder descended into.
    pub notes: Vec<String>,
    /// Files that are not part of the hand-in.
    pub warnings: Vec<String>,
}

/// `q4_3`, `Q4.3`, `q4-3` all name `q4.3`.
fn normal(name: &str) -> String {
    name.to_lowercase().replace(['_', '-'], ".")
}

fn entries(dir: &Path) -> anyhow::Result<Vec<String>> {
    let listing = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the student folder `{}`", dir.display()))?;
    let mut names: Vec<String> = listing
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// What a code problem's file may end with: a module, or Python source.
const EXTENSIONS: [&str; 2] = [".wasm", ".py"];

/// `(stem, extension)` of a submission's file name, the extension in lower case.
fn split(name: &str) -> Option<(&str, &'static str)> {
    EXTENSIONS.iter().find_map(|ext| {
        let at = name.len().checked_sub(ext.len())?;
        name.get(at..)
            .filter(|e| e.eq_ignore_ascii_case(ext))
            .and_then(|_| name.get(..at))
            .filter(|stem| !stem.is_empty())
            .map(|stem| (stem, *ext))
    })
}

fn is_hand_in_file(name: &str) -> bool {
    name == ANSWERS_FILE || split(name).is_some()
}

/// Reads the folder `dir` for a course whose code problems are `ids`.
pub fn read(dir: &Path, ids: &[String]) -> anyhow::Result<HandIn> {
    let mut hand_in = HandIn {
        dir: dir.to_path_buf(),
        ..HandIn::default()
    };
    let mut names = entries(dir)?;
    // An archive that unpacked into one more folder: grade that folder. Only a real folder
    // (never a link), only one level down.
    if !names.iter().any(|n| is_hand_in_file(n)) {
        let folders: Vec<&String> = names
            .iter()
            .filter(|n| !n.starts_with('.'))
            .filter(|n| std::fs::symlink_metadata(dir.join(n)).is_ok_and(|m| m.is_dir()))
            .collect();
        if let [only] = folders[..] {
            hand_in.notes.push(format!(
                "graded the folder `{only}/`: the hand-in holds a single folder and no modules"
            ));
            hand_in.dir = dir.join(only);
            names = entries(&hand_in.dir)?;
        }
    }
    let by_normal: BTreeMap<String, &String> = ids.iter().map(|id| (normal(id), id)).collect();
    let expected: Vec<String> = ids
        .iter()
        .map(|id| format!("{id}.wasm"))
        .chain([ANSWERS_FILE.to_string()])
        .collect();
    // Exact names first, so that `q4.3.wasm` wins over a `q4_3.wasm` beside it; a module
    // before a Python file of the same problem.
    fn exact_name<'a>(n: &'a str, ids: &[String]) -> Option<&'a str> {
        EXTENSIONS
            .iter()
            .find_map(|ext| n.strip_suffix(ext))
            .filter(|s| ids.iter().any(|id| id == s))
    }
    let (mut exact, others): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| exact_name(n, ids).is_some());
    exact.sort_by_key(|n| !n.ends_with(".wasm"));
    let mut losers = Vec::new();
    for name in exact {
        let id = exact_name(name, ids).unwrap_or_default().to_string();
        match hand_in.modules.entry(id) {
            std::collections::btree_map::Entry::Occupied(_) => losers.push(name),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(name.clone());
            }
        }
    }
    // Aliases too: a module before a Python file of the same problem.
    let mut others = others;
    others.sort_by_key(|n| crate::sandbox::is_python(n));
    for name in losers.into_iter().chain(others) {
        if name == ANSWERS_FILE {
            continue;
        }
        let stem = split(name);
        let alias = stem.and_then(|(s, _)| by_normal.get(&normal(s)));
        match alias {
            Some(id) if hand_in.modules.contains_key(*id) => hand_in.warnings.push(format!(
                "{name}: ignored, {id} is graded from `{}`",
                hand_in.modules[*id]
            )),
            Some(id) => {
                let ext = stem.map_or(".wasm", |(_, ext)| ext);
                hand_in.notes.push(format!(
                    "{name} is graded as {id} (a file is named by its problem id: `{id}{ext}`)"
                ));
                hand_in.modules.insert((*id).clone(), name.clone());
            }
            None => {
                let hint = expected
                    .iter()
                    .map(|e| (strsim::levenshtein(&normal(name), &normal(e)), e))
                    .filter(|(d, _)| *d <= 2)
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, e)| format!(" (did you mean `{e}`?)"))
                    .unwrap_or_default();
                hand_in.warnings.push(format!(
                    "{name}: not a code problem's module or Python file, nor {ANSWERS_FILE}; ignored{hint}"
                ));
            }
        }
    }
    Ok(hand_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in files {
            let path = dir.path().join(f);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(path, "x").expect("write");
        }
        dir
    }

    fn ids() -> Vec<String> {
        ["q2.3", "q4.3", "q12.1"].map(String::from).to_vec()
    }

    #[test]
    fn toolchain_names_are_the_problems_they_mean() {
        let dir = folder(&["q2.3.wasm", "q4_3.wasm", "Q12-1.WASM", "answers.toml"]);
        let h = read(dir.path(), &ids()).expect("read");
        assert_eq!(
            h.modules.into_iter().collect::<Vec<_>>(),
            [
                ("q12.1".to_string(), "Q12-1.WASM".to_string()),
                ("q2.3".into(), "q2.3.wasm".into()),
                ("q4.3".into(), "q4_3.wasm".into()),
            ]
        );
        assert_eq!(
            h.notes,
            [
                "Q12-1.WASM is graded as q12.1 (a file is named by its problem id: `q12.1.wasm`)",
                "q4_3.wasm is graded as q4.3 (a file is named by its problem id: `q4.3.wasm`)",
            ]
        );
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }

    #[test]
    fn the_exact_name_wins_and_strangers_get_a_suggestion() {
        let dir = folder(&[
            "q4.3.wasm",
            "q4_3.wasm",
            "q43.wasm",
            "answer.toml",
            "notes.txt",
        ]);
        let h = read(dir.path(), &ids()).expect("read");
        assert_eq!(h.modules["q4.3"], "q4.3.wasm");
        assert_eq!(
            h.warnings,
            [
                "answer.toml: not a code problem's module or Python file, nor answers.toml; ignored (did you mean `answers.toml`?)",
                "notes.txt: not a code problem's module or Python file, nor answers.toml; ignored",
                "q43.wasm: not a code problem's module or Python file, nor answers.toml; ignored (did you mean `q4.3.wasm`?)",
                "q4_3.wasm: ignored, q4.3 is graded from `q4.3.wasm`",
            ]
        );
    }

    #[test]
    fn a_module_wins_over_a_python_file_of_the_same_problem() {
        let dir = folder(&["q1_1.py", "q1_1.wasm", "q2.3.py", "q2.3.wasm"]);
        let ids = ["q1.1", "q2.3"].map(String::from).to_vec();
        let h = read(dir.path(), &ids).expect("read");
        assert_eq!(h.modules["q1.1"], "q1_1.wasm");
        assert_eq!(h.modules["q2.3"], "q2.3.wasm");
        assert_eq!(
            h.warnings,
            [
                "q2.3.py: ignored, q2.3 is graded from `q2.3.wasm`",
                "q1_1.py: ignored, q1.1 is graded from `q1_1.wasm`",
            ]
        );
    }

    #[test]
    fn a_single_folder_inside_is_the_hand_in() {
        let dir = folder(&["ada-hw/q2.3.wasm", "ada-hw/answers.toml", ".DS_Store"]);
        let h = read(dir.path(), &ids()).expect("read");
        assert_eq!(h.dir, dir.path().join("ada-hw"));
        assert_eq!(h.modules["q2.3"], "q2.3.wasm");
        assert_eq!(
            h.notes,
            ["graded the folder `ada-hw/`: the hand-in holds a single folder and no modules"]
        );
        // Two folders: nothing is guessed.
        let two = folder(&["a/q2.3.wasm", "b/q2.3.wasm"]);
        let h = read(two.path(), &ids()).expect("read");
        assert!(h.modules.is_empty() && h.notes.is_empty());
    }
}
