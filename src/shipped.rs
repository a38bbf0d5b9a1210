//! The files the binary ships with: page, email and report templates, the stylesheet and the
//! survey definitions, embedded at build time so that the binary runs from any folder. A
//! district that edits its texts points `TEMPLATES_DIR` or `SURVEYS_DIR` at a folder: each
//! file there replaces the shipped file of the same name (or adds one); the rest stay shipped.

use anyhow::Context;
use include_dir::{Dir, include_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

static TEMPLATES: Dir = include_dir!("$CARGO_MANIFEST_DIR/templates");
static SURVEYS: Dir = include_dir!("$CARGO_MANIFEST_DIR/surveys");

/// A set of text files by name (`email/invitation.txt.hbs`), each shipped or overridden.
#[derive(Debug, Clone)]
pub struct Files {
    files: Arc<BTreeMap<String, File>>,
}

#[derive(Debug)]
struct File {
    text: String,
    /// Where it came from, for messages: the override's path, or `(inbyggd) name`.
    origin: String,
}

impl Files {
    /// The shipped templates and stylesheet, with the files of `TEMPLATES_DIR` over them.
    pub fn templates(over: Option<&Path>) -> anyhow::Result<Files> {
        Files::load(&TEMPLATES, "templates", over, "TEMPLATES_DIR")
    }

    /// The shipped survey definitions, with the files of `SURVEYS_DIR` over them.
    pub fn surveys(over: Option<&Path>) -> anyhow::Result<Files> {
        Files::load(&SURVEYS, "surveys", over, "SURVEYS_DIR")
    }

    fn load(shipped: &Dir<'static>, folder: &str, over: Option<&Path>, variable: &str) -> anyhow::Result<Files> {
        let mut files = BTreeMap::new();
        let mut stack = vec![shipped];
        while let Some(dir) = stack.pop() {
            stack.extend(dir.dirs());
            for f in dir.files() {
                let name = f.path().to_string_lossy().replace('\\', "/");
                let text =
                    f.contents_utf8().with_context(|| format!("the shipped file {folder}/{name} is not UTF-8"))?;
                files.insert(
                    name.clone(),
                    File { text: text.to_string(), origin: format!("{folder}/{name} (inbyggd)") },
                );
            }
        }
        if let Some(over) = over {
            if !over.is_dir() {
                anyhow::bail!(
                    "{variable} names the folder {}, which does not exist or is not a folder: create it, or unset {variable} to use the shipped files",
                    over.display()
                );
            }
            let mut stack: Vec<PathBuf> = vec![over.to_path_buf()];
            while let Some(dir) = stack.pop() {
                let entries =
                    std::fs::read_dir(&dir).with_context(|| format!("cannot read {} ({variable})", dir.display()))?;
                for entry in entries {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let name = path.strip_prefix(over)?.to_string_lossy().replace('\\', "/");
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {} ({variable}): is it UTF-8 text?", path.display()))?;
                    files.insert(name, File { text, origin: path.display().to_string() });
                }
            }
        }
        Ok(Files { files: Arc::new(files) })
    }

    /// The file of this name, with where it came from.
    pub fn get(&self, name: &str) -> Option<(&str, &str)> {
        self.files.get(name).map(|f| (f.text.as_str(), f.origin.as_str()))
    }

    /// The file of this name, or an error naming it.
    pub fn text(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name).map(|(text, _)| text).with_context(|| format!("the file {name} is missing"))
    }

    /// Every file whose name ends with `suffix`: (name, text, origin).
    pub fn ending_with<'a>(&'a self, suffix: &'a str) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + 'a {
        self.files
            .iter()
            .filter(move |(n, _)| n.ends_with(suffix))
            .map(|(n, f)| (n.as_str(), f.text.as_str(), f.origin.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_are_there_and_a_folder_overrides_one_by_one() {
        let shipped = Files::templates(None).unwrap();
        assert!(shipped.text("lagesbild.css").unwrap().contains("{"));
        assert!(shipped.get("email/invitation.txt.hbs").is_some());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("email")).unwrap();
        std::fs::write(dir.path().join("email/invitation.subject.hbs"), "Vår egen rubrik").unwrap();
        let mixed = Files::templates(Some(dir.path())).unwrap();
        assert_eq!(mixed.text("email/invitation.subject.hbs").unwrap(), "Vår egen rubrik");
        assert_eq!(mixed.text("lagesbild.css").unwrap(), shipped.text("lagesbild.css").unwrap());
        let missing = dir.path().join("finns-inte");
        let e = Files::surveys(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("SURVEYS_DIR") && e.contains("finns-inte"), "{e}");
    }
}
