//! `fsck`: checks a whole store. Every run and model record must parse and match its own
//! checksum, every artifact it lists must exist and match its sha256, every run must name
//! a model that exists; temporary and set-aside directories (`.tmp-`, `.old-`, `.gc-`)
//! left by dead processes are found. With `repair`, each bad entry is quarantined, as a
//! sweep would, under its lock; nothing is deleted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::identity::{EntryId, ModelId, RunId};
use crate::quarantine::EntryKind;
use crate::store::{EntryLock, Lookup, RunStore};
use crate::{Error, Result};

/// One thing `fsck` found wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The entry: `runs/<id>`, `models/<id>`, or a leftover's path under the root.
    pub entry: String,
    /// What is wrong.
    pub reason: String,
    /// Where `repair` moved it, if it did.
    pub repaired: Option<PathBuf>,
}

/// What `fsck` checked and found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FsckReport {
    /// Run records checked.
    pub runs: usize,
    /// Model records checked.
    pub models: usize,
    /// Sweep indexes checked.
    pub sweeps: usize,
    /// Artifacts whose sha256 was checked.
    pub artifacts: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Corrupt or incomplete entries, and leftovers.
    pub problems: Vec<Problem>,
    /// Entries already in quarantine (not problems: they are set aside).
    pub quarantined: usize,
    /// Entries skipped because another process holds their lock (being written).
    pub busy: Vec<String>,
}

/// Checks `files` (name to listed sha256) in `dirs` (the first that holds each file).
fn check_artifacts(
    listed: &BTreeMap<String, String>,
    dirs: &[PathBuf],
    report: &mut FsckReport,
) -> Option<String> {
    for (name, expected) in listed {
        let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.exists()) else {
            return Some(format!("{name} is missing"));
        };
        let bytes = match crate::store::read_artifact(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Some(format!("{name} is missing")),
            Err(err) => return Some(err.to_string()),
        };
        report.artifacts += 1;
        report.bytes += bytes.len() as u64;
        if crate::store::sha256_hex(&bytes) != *expected {
            return Some(format!("{name} does not match the sha256 its record lists"));
        }
    }
    None
}

/// Leftover directories of dead processes in `dir` (`.tmp-`, `.old-`, `.gc-`).
fn leftovers<Id: EntryId>(store: &RunStore, dir: &Path, report: &mut FsckReport) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            p.is_dir()
                && [".tmp-", ".old-", ".gc-"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
        })
        .collect();
    found.sort();
    for path in found {
        // A directory whose entry another process holds is being written, not left over.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let owner = name
            .split_once('-')
            .and_then(|(_, rest)| rest.get(..64))
            .and_then(Id::parse);
        if let Some(id) = owner {
            if store.is_held_in(dir, &id).unwrap_or(true) {
                continue;
            }
        }
        report.problems.push(Problem {
            entry: crate::quarantine::relative(store, &path).to_string(),
            reason: "a temporary or set-aside directory of a process that did not finish \
                     (`gc --yes` removes it; a sweep restores an `.old-` copy)"
                .into(),
            repaired: None,
        });
    }
}

/// Records a bad entry; with `repair`, quarantines it (the caller holds its lock).
fn found(
    store: &RunStore,
    kind: EntryKind,
    id: &impl EntryId,
    reason: String,
    repair: bool,
    report: &mut FsckReport,
) -> Result<()> {
    let repaired = if repair {
        Some(store.quarantine(kind, id, &reason)?)
    } else {
        None
    };
    let folder = match kind {
        EntryKind::Run => "runs",
        EntryKind::Model => "models",
    };
    report.problems.push(Problem {
        entry: format!("{folder}/{id}"),
        reason,
        repaired,
    });
    Ok(())
}

/// Holds `id`'s lock for its check when `repair` may move the entry; without `repair`
/// only looks whether another process holds it (no lock file is made, so a store this
/// process can only read is checked too). `None` when another process holds it.
fn hold<Id: EntryId>(
    store: &RunStore,
    dir: &Path,
    id: &Id,
    repair: bool,
) -> Result<Option<Option<EntryLock<Id>>>> {
    if repair {
        Ok(store.acquire_in(dir, id, false)?.map(Some))
    } else if store.is_held_in(dir, id)? {
        Ok(None)
    } else {
        Ok(Some(None))
    }
}

/// Checks every entry of `store`; with `repair`, quarantines the bad ones.
pub fn check(store: &RunStore, repair: bool) -> Result<FsckReport> {
    let mut report = FsckReport::default();
    let models_dir = store.models_dir();
    // Models this pass set aside: their runs stay, since a sweep that needs the model
    // trains it again and the retrained model reproduces the hashes the runs list.
    let mut set_aside: std::collections::HashSet<ModelId> = store
        .quarantined()?
        .into_iter()
        .filter_map(|(_, reason)| reason)
        .filter(|r| r.kind == EntryKind::Model)
        .filter_map(|r| ModelId::parse(&r.id))
        .collect();
    for id in store.model_ids()? {
        // Under the model's lock, so a model being written is not judged half-written.
        let Some(lock) = hold(store, &models_dir, &id, repair)? else {
            report.busy.push(format!("models/{id}"));
            continue;
        };
        report.models += 1;
        let problem = match store.model_record(&id) {
            Ok(Some(record)) => {
                let mut listed = record.artifacts.clone();
                if let Some(hash) = &record.config_sha256 {
                    listed.insert("config.toml".into(), hash.clone());
                }
                check_artifacts(&listed, &[store.model_dir(&id)], &mut report)
            }
            Ok(None) => Some("model.json is missing".into()),
            Err(err @ Error::Corrupt { .. }) => Some(err.to_string()),
            Err(err) => return Err(err),
        };
        if let Some(reason) = problem {
            if repair {
                set_aside.insert(id.clone());
            }
            found(store, EntryKind::Model, &id, reason, repair, &mut report)?;
        }
        drop(lock);
    }
    for id in store.run_ids()? {
        let Some(lock) = hold(store, &store.runs_dir(), &id, repair)? else {
            report.busy.push(format!("runs/{id}"));
            continue;
        };
        report.runs += 1;
        let problem = match store.lookup_own(&id)? {
            Lookup::Corrupt(reason) => Some(reason),
            Lookup::Absent => Some("record.json is missing".into()),
            Lookup::Stored(record) => match &record.model {
                // The model's own files are the model check's: a run is only corrupt if
                // its own files are, or if it lists hashes its model does not have.
                Some(model) if set_aside.contains(model) => None,
                Some(model) => match store.model_record(model) {
                    Ok(None) => Some(format!(
                        "it names model {} which the store does not hold",
                        model.short()
                    )),
                    Ok(Some(model_record)) => {
                        let (own, shared): (BTreeMap<_, _>, BTreeMap<_, _>) = record
                            .artifacts
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .partition(|(name, _)| !model_record.artifacts.contains_key(name));
                        if shared
                            .iter()
                            .any(|(name, hash)| model_record.artifacts[name] != *hash)
                        {
                            Some(format!(
                                "it lists hashes of model {} that the model's record does not",
                                model.short()
                            ))
                        } else {
                            check_artifacts(&own, &[store.run_dir(&id)], &mut report)
                        }
                    }
                    // A corrupt model is the model check's problem.
                    Err(_) => None,
                },
                None => check_artifacts(&record.artifacts, &[store.run_dir(&id)], &mut report),
            },
        };
        if let Some(reason) = problem {
            found(store, EntryKind::Run, &id, reason, repair, &mut report)?;
        }
        drop(lock);
    }
    for name in store.sweep_names()? {
        report.sweeps += 1;
        if let Err(err) = store.sweep_index(&name) {
            // Sweeping the experiment again writes its index anew; --repair sets it aside.
            let repaired = if repair {
                Some(store.set_aside_sweep_file(&name)?)
            } else {
                None
            };
            report.problems.push(Problem {
                entry: format!("sweeps/{name}.json"),
                reason: format!(
                    "{err} (sweeping the experiment again writes its index anew; --repair \
                     sets it aside)"
                ),
                repaired,
            });
        }
    }
    leftovers::<RunId>(store, &store.root().join("runs"), &mut report);
    leftovers::<ModelId>(store, &models_dir, &mut report);
    report.quarantined = store.quarantined()?.len();
    Ok(report)
}
