//! Finding scenario files, parsing them with file-and-line errors, and resolving includes.
//!
//! serde_yaml reports the line and column of type errors and unknown keys. Checks made after
//! parsing (exactly one action per step, known group names, ...) name the step's line, found by
//! scanning the file's top-level `steps:` list, since serde does not keep positions of values
//! that parsed fine.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::model::{
    Action, Control, Eventually, EventuallySpec, GivenContainer, Group, GroupFile, Ingestion,
    IngestionArgs, Origin, RawStep, ReleaseRightArgs, Scenario, ScenarioFile, Stage, Step,
    TerminalReleaseArgs,
};

/// Folders skipped when a folder is walked (reusable groups, scenarios parked until the
/// simulator agrees with the seed). Name them explicitly to run them.
pub const SKIPPED_DIRS: &[&str] = &["groups", "pending"];

/// Longest wall-clock `wait` (scenarios must stay fast; time travel uses the virtual clock).
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Deepest include nesting accepted (guards against include cycles).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Default `eventually` timeout and polling interval.
const DEFAULT_EVENTUALLY: Eventually = Eventually {
    timeout: Duration::from_secs(5),
    interval: Duration::from_millis(25),
};

/// A scenario file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    fn at(origin: &Origin, message: impl Into<String>) -> Self {
        LoadError {
            file: origin.file.clone(),
            line: origin.line,
            column: None,
            message: message.into(),
        }
    }

    fn file(file: &str, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    fn yaml(file: &str, err: &serde_yaml::Error) -> Self {
        let location = err.location();
        // serde_yaml appends " at line L column C"; we print the location in front instead.
        let mut message = err.to_string();
        if let Some(idx) = message.rfind(" at line ") {
            message.truncate(idx);
        }
        if message.contains("invalid type: map, expected") {
            message.push_str(" (hint: quote templates, e.g. \"{{equipment}}\")");
        }
        LoadError {
            file: file.to_owned(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    }
}

/// One entry of a run: a loaded scenario, or the error that kept it from loading.
#[derive(Debug, Clone)]
pub enum Loaded {
    Ok(Box<Scenario>),
    Err {
        error: LoadError,
        /// Text of a `<file>.expected` sidecar: the load error must contain it.
        expected_failure: Option<String>,
    },
}

/// Every scenario file under `paths` (files are taken as given; folders are walked
/// recursively for `*.yaml` / `*.yml`, skipping [`SKIPPED_DIRS`] and names starting with `_`
/// or `.`), in a stable order.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", path.display()),
            ));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&path, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Load one scenario file; errors are returned as [`Loaded::Err`] so one bad file does not
/// stop a run.
pub fn load_file(path: &Path) -> Loaded {
    match load_scenario(path) {
        Ok(scenario) => Loaded::Ok(Box::new(scenario)),
        Err(error) => Loaded::Err {
            error,
            expected_failure: sidecar_expectation(path),
        },
    }
}

/// The `<stem>.expected` file next to a scenario, trimmed.
fn sidecar_expectation(path: &Path) -> Option<String> {
    let sidecar = path.with_extension("expected");
    std::fs::read_to_string(sidecar)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Parse and check one scenario file, resolving includes and groups.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(&file, format!("cannot read: {e}")))?;
    parse_scenario(&text, path)
}

/// Parse scenario text as if it were the file at `path` (used for includes relative to it).
pub fn parse_scenario(text: &str, path: &Path) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let raw: ScenarioFile = serde_yaml::from_str(text).map_err(|e| LoadError::yaml(&file, &e))?;
    if raw.name.trim().is_empty() {
        return Err(LoadError::file(&file, "`name` must not be empty"));
    }
    let lines = top_level_step_lines(text);
    let mut loader = Loader {
        local_groups: raw.groups.clone(),
        base: path.to_path_buf(),
    };
    let mut vars = raw.vars.clone();
    let mut steps = given_steps(&raw.given.containers, &file, &mut vars)?;
    for (index, step) in raw.steps.into_iter().enumerate() {
        let origin = Origin {
            file: file.clone(),
            line: lines.get(index).copied(),
        };
        steps.push(loader.convert(step, origin, path, 0)?);
    }
    if steps.is_empty() {
        return Err(LoadError::file(&file, "the scenario has no steps"));
    }
    Ok(Scenario {
        name: raw.name,
        file,
        tags: raw.tags,
        vars,
        given: raw.given,
        steps,
        expected_failure: raw.expected_failure,
    })
}

struct Loader {
    local_groups: BTreeMap<String, GroupFile>,
    base: PathBuf,
}

impl Loader {
    fn convert(
        &mut self,
        raw: RawStep,
        origin: Origin,
        file: &Path,
        depth: usize,
    ) -> Result<Step, LoadError> {
        let mut found: Vec<&'static str> = Vec::new();
        let mut action: Option<Action> = None;
        let mut group_ref: Option<(bool, String)> = None;
        macro_rules! take {
            ($field:expr, $name:literal, $ctor:expr) => {
                if let Some(value) = $field {
                    found.push($name);
                    action = Some($ctor(value));
                }
            };
        }
        take!(raw.request, "request", Action::Request);
        take!(raw.token, "token", Action::Token);
        take!(
            raw.terminal_release,
            "terminal_release",
            Action::TerminalRelease
        );
        take!(raw.discharge, "discharge", |a| Action::Ingestion(
            Ingestion::Discharge,
            a
        ));
        take!(raw.gate_in, "gate_in", |a| Action::Ingestion(
            Ingestion::GateIn,
            a
        ));
        take!(raw.gate_out, "gate_out", |a| Action::Ingestion(
            Ingestion::GateOut,
            a
        ));
        take!(
            raw.validate_truck_pickup,
            "validate_truck_pickup",
            Action::ValidateTruckPickup
        );
        take!(
            raw.validate_barge_rail_pickup,
            "validate_barge_rail_pickup",
            Action::ValidateBargeRailPickup
        );
        take!(
            raw.validate_alfapass,
            "validate_alfapass",
            Action::ValidateAlfapass
        );
        take!(
            raw.validate_ownership,
            "validate_ownership",
            Action::ValidateOwnership
        );
        take!(raw.release_detail, "release_detail", Action::ReleaseDetail);
        take!(raw.registry, "registry", Action::Registry);
        take!(raw.notifications, "notifications", Action::Notifications);
        take!(raw.release_right, "release_right", Action::ReleaseRight);
        take!(raw.pickup_right, "pickup_right", Action::PickupRight);
        take!(
            raw.barge_rail_pickup_right,
            "barge_rail_pickup_right",
            Action::BargeRailPickupRight
        );
        take!(raw.control, "control", Action::Control);
        take!(
            raw.expect_container,
            "expect_container",
            Action::ExpectContainer
        );
        take!(
            raw.expect_notifications,
            "expect_notifications",
            Action::ExpectNotifications
        );
        take!(
            raw.expect_webhooks,
            "expect_webhooks",
            Action::ExpectWebhooks
        );
        if let Some(wait) = raw.wait {
            found.push("wait");
            let duration = parse_duration(&wait).map_err(|m| LoadError::at(&origin, m))?;
            if duration > MAX_WAIT {
                return Err(LoadError::at(
                    &origin,
                    format!("`wait` is at most {}s; move the virtual clock with `control: {{ advance_clock }}`", MAX_WAIT.as_secs()),
                ));
            }
            action = Some(Action::Wait(duration));
        }
        if let Some(path) = raw.include {
            found.push("include");
            group_ref = Some((true, path));
        }
        if let Some(name) = raw.use_ {
            found.push("use");
            group_ref = Some((false, name));
        }
        if found.len() != 1 {
            let message = if found.is_empty() {
                "the step has no action; add one of: request, discharge, gate_in, gate_out, \
                 terminal_release, release_right, pickup_right, barge_rail_pickup_right, \
                 validate_truck_pickup, validate_barge_rail_pickup, validate_alfapass, \
                 validate_ownership, release_detail, registry, notifications, token, control, \
                 expect_container, expect_notifications, expect_webhooks, wait, include, use"
                    .to_owned()
            } else {
                format!(
                    "a step does exactly one thing, but this one has {}: split it into steps",
                    found.join(", ")
                )
            };
            return Err(LoadError::at(&origin, message));
        }
        let kind = found[0];
        let is_group = group_ref.is_some();
        let is_http = !matches!(
            kind,
            "control"
                | "wait"
                | "expect_container"
                | "expect_notifications"
                | "expect_webhooks"
                | "include"
                | "use"
        );
        let reject = |cond: bool, key: &str, allowed: &str| -> Result<(), LoadError> {
            if cond {
                Err(LoadError::at(
                    &origin,
                    format!("`{key}` cannot be used with `{kind}` (only with {allowed})"),
                ))
            } else {
                Ok(())
            }
        };
        reject(!raw.with.is_empty() && !is_group, "with", "include and use")?;
        reject(
            raw.expect.is_some() && !(is_http || kind == "control"),
            "expect",
            "requests and control steps; expect_* steps carry their own checks",
        )?;
        reject(raw.repeat.is_some() && !is_http, "repeat", "requests")?;
        reject(
            raw.override_.is_some() && !is_http,
            "override",
            "requests with a JSON body",
        )?;
        reject(
            !raw.capture.is_empty() && is_group,
            "capture",
            "requests, control and expect_* steps",
        )?;
        reject(
            raw.eventually.is_some() && is_group,
            "eventually",
            "requests, control and expect_* steps",
        )?;
        reject(raw.auth.is_some() && !is_http, "auth", "requests")?;
        if raw.repeat == Some(0) {
            return Err(LoadError::at(&origin, "`repeat` must be at least 1"));
        }
        for (var, source) in &raw.capture {
            check_capture_source(source)
                .map_err(|m| LoadError::at(&origin, format!("capture `{var}`: {m}")))?;
        }
        if let Some(Action::Control(control)) = &action {
            check_control(control).map_err(|m| LoadError::at(&origin, m))?;
        }
        let eventually = match raw.eventually {
            None => None,
            Some(spec) => parse_eventually(spec).map_err(|m| LoadError::at(&origin, m))?,
        };
        let action = match (action, group_ref) {
            (Some(action), None) => action,
            (None, Some((is_include, target))) => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(LoadError::at(
                        &origin,
                        format!(
                            "includes nested deeper than {MAX_INCLUDE_DEPTH}: is there a cycle?"
                        ),
                    ));
                }
                Action::Group(self.load_group(is_include, &target, raw.with, &origin, file, depth)?)
            }
            _ => return Err(LoadError::at(&origin, "internal: step action lost")),
        };
        Ok(Step {
            label: raw.name,
            origin,
            party: raw.as_,
            headers: raw.headers,
            auth: raw.auth,
            expect: raw.expect,
            capture: raw.capture,
            eventually,
            repeat: raw.repeat.unwrap_or(1),
            override_body: raw.override_,
            action,
        })
    }

    fn load_group(
        &mut self,
        is_include: bool,
        target: &str,
        with: BTreeMap<String, Value>,
        origin: &Origin,
        file: &Path,
        depth: usize,
    ) -> Result<Group, LoadError> {
        let (group, group_file, text) = if !is_include && self.local_groups.contains_key(target) {
            let group = self
                .local_groups
                .get(target)
                .cloned()
                .ok_or_else(|| LoadError::at(origin, format!("unknown group `{target}`")))?;
            (group, file.to_path_buf(), None)
        } else {
            let candidate = if is_include {
                PathBuf::from(target)
            } else {
                PathBuf::from("groups").join(format!("{target}.yaml"))
            };
            let found = resolve_relative(file, &candidate)
                .or_else(|| resolve_relative(&self.base, &candidate));
            let Some(path) = found else {
                let message = if is_include {
                    format!("include `{target}`: no such file next to this scenario or in a `groups/` folder above it")
                } else {
                    let mut known: Vec<&str> =
                        self.local_groups.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    format!(
                        "unknown group `{target}`: not in this file's `groups:` ({}) and no groups/{target}.yaml above it",
                        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                    )
                };
                return Err(LoadError::at(origin, message));
            };
            let display = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::file(&display, format!("cannot read: {e}")))?;
            let group: GroupFile =
                serde_yaml::from_str(&text).map_err(|e| LoadError::yaml(&display, &e))?;
            (group, path, Some(text))
        };
        for key in with.keys() {
            if !group.params.contains_key(key) {
                let mut known: Vec<&str> = group.params.keys().map(String::as_str).collect();
                known.sort_unstable();
                return Err(LoadError::at(
                    origin,
                    format!(
                        "`with: {key}` is not a parameter of `{target}` (parameters: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        let group_display = group_file.display().to_string();
        let lines = text
            .as_deref()
            .map(top_level_step_lines)
            .unwrap_or_default();
        let mut steps = Vec::with_capacity(group.steps.len());
        for (index, raw) in group.steps.into_iter().enumerate() {
            let step_origin = Origin {
                file: if text.is_some() {
                    group_display.clone()
                } else {
                    format!("{group_display} (group {target})")
                },
                line: lines.get(index).copied(),
            };
            steps.push(self.convert(raw, step_origin, &group_file, depth + 1)?);
        }
        Ok(Group {
            name: if is_include {
                format!("include {target}")
            } else {
                format!("use {target}")
            },
            params: group.params,
            with,
            steps,
        })
    }
}

/// `candidate` next to `from`, or in an ancestor folder of it (directly or under `groups/`).
fn resolve_relative(from: &Path, candidate: &Path) -> Option<PathBuf> {
    if candidate.is_absolute() {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    let mut dir = from.parent();
    let mut hops = 0;
    while let Some(d) = dir {
        for option in [d.join(candidate), d.join("groups").join(candidate)] {
            if option.is_file() {
                return Some(option);
            }
        }
        hops += 1;
        if hops > 8 {
            break;
        }
        dir = d.parent();
    }
    None
}

fn check_capture_source(source: &str) -> Result<(), String> {
    if source == "status"
        || source == "body"
        || source.starts_with("body.")
        || source.starts_with("body[")
        || source.starts_with("header.")
    {
        Ok(())
    } else {
        Err(format!(
            "source `{source}` must be `status`, `body`, `body.<path>` or `header.<name>`"
        ))
    }
}

fn check_control(control: &Control) -> Result<(), String> {
    let mut keys = Vec::new();
    if control.customs.is_some() {
        keys.push("customs");
    }
    if control.advance_clock.is_some() {
        keys.push("advance_clock");
    }
    if control.fault.is_some() {
        keys.push("fault");
    }
    if control.clear_faults.is_some() {
        keys.push("clear_faults");
    }
    if control.webhook.is_some() {
        keys.push("webhook");
    }
    if control.reset.is_some() {
        keys.push("reset");
    }
    match keys.len() {
        1 => Ok(()),
        0 => Err(
            "`control` needs one of: customs, advance_clock, fault, clear_faults, webhook, reset"
                .to_owned(),
        ),
        _ => Err(format!(
            "`control` does one thing per step, found: {}",
            keys.join(", ")
        )),
    }
}

/// Parse `2s`, `150ms`, `14d` (humantime) or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. 2s, 500ms, 14d"))
}

fn parse_eventually(spec: EventuallySpec) -> Result<Option<Eventually>, String> {
    Ok(match spec {
        EventuallySpec::On(false) => None,
        EventuallySpec::On(true) => Some(DEFAULT_EVENTUALLY),
        EventuallySpec::Timeout(t) => Some(Eventually {
            timeout: parse_duration(&t)?,
            interval: DEFAULT_EVENTUALLY.interval,
        }),
        EventuallySpec::Full { timeout, interval } => Some(Eventually {
            timeout: parse_duration(&timeout)?,
            interval: match interval {
                Some(i) => parse_duration(&i)?,
                None => DEFAULT_EVENTUALLY.interval,
            },
        }),
    })
}

/// The steps that bring `given.containers` to their starting stage, and their variables.
fn given_steps(
    containers: &[GivenContainer],
    file: &str,
    vars: &mut BTreeMap<String, Value>,
) -> Result<Vec<Step>, LoadError> {
    let mut steps = Vec::new();
    for (index, c) in containers.iter().enumerate() {
        let var = c.var.clone().unwrap_or_else(|| {
            if index == 0 {
                "equipment".to_owned()
            } else {
                format!("equipment{}", index + 1)
            }
        });
        vars.entry(var)
            .or_insert_with(|| Value::String(c.equipment.clone()));
        let origin = Origin {
            file: format!("{file} (given container {})", c.equipment),
            line: None,
        };
        let terminal = c.terminal.clone().unwrap_or_else(|| "psa".to_owned());
        let step = |label: String, party: Option<String>, action: Action| Step {
            label: Some(label),
            origin: origin.clone(),
            party,
            headers: BTreeMap::new(),
            auth: None,
            expect: None,
            capture: BTreeMap::new(),
            eventually: None,
            repeat: 1,
            override_body: None,
            action,
        };
        let bls = (!c.bill_of_lading_numbers.is_empty()).then(|| c.bill_of_lading_numbers.clone());
        if c.stage >= Stage::CommerciallyReleased {
            let agent = c.agent.clone().unwrap_or_else(|| "agent".to_owned());
            let to = c
                .release_to
                .clone()
                .unwrap_or_else(|| "forwarder".to_owned());
            steps.push(step(
                format!("given: {agent} releases {} to {to}", c.equipment),
                Some(agent),
                Action::ReleaseRight(ReleaseRightArgs {
                    action: Some("Release".to_owned()),
                    equipment: c.equipment.clone(),
                    from: None,
                    to: Some(to),
                    terminal: Some(terminal.clone()),
                    carrier: None,
                    release_identification: None,
                    bill_of_lading_numbers: bls.clone(),
                    reason: None,
                    release_date_time_utc: None,
                    expiration_date_time_utc: None,
                    valid_from: None,
                    locode: None,
                    release_id: None,
                }),
            ));
        }
        if c.stage >= Stage::Discharged {
            steps.push(step(
                format!("given: {terminal} discharges {}", c.equipment),
                Some(terminal.clone()),
                Action::Ingestion(
                    Ingestion::Discharge,
                    IngestionArgs {
                        equipment: c.equipment.clone(),
                        terminal: None,
                        locode: None,
                        stay_number: None,
                        timestamp: None,
                        full_empty_indicator: None,
                        equipment_status: None,
                        bill_of_lading_numbers: bls.clone(),
                        mode_of_transport: None,
                        ingestion_id: None,
                    },
                ),
            ));
        }
        if c.stage >= Stage::CustomsReleased {
            steps.push(step(
                format!("given: customs releases {}", c.equipment),
                None,
                Action::Control(Control {
                    customs: Some(super::model::CustomsArgs {
                        equipment: c.equipment.clone(),
                        status: "RELEASED".to_owned(),
                        locode: None,
                    }),
                    ..Control::default()
                }),
            ));
        }
        if c.stage >= Stage::Released {
            steps.push(step(
                format!(
                    "given: {terminal} releases {} from the terminal",
                    c.equipment
                ),
                Some(terminal.clone()),
                Action::TerminalRelease(TerminalReleaseArgs {
                    equipment: c.equipment.clone(),
                    action: Some("Release".to_owned()),
                    terminal: None,
                    locode: None,
                    stay_number: None,
                    release_date_time_utc: None,
                }),
            ));
        }
    }
    Ok(steps)
}

/// 1-based line numbers of the items of the file's top-level `steps:` block list.
pub fn top_level_step_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| {
        let t = l.trim_end();
        t == "steps:" || (t.starts_with("steps:") && t[6..].trim_start().starts_with('#'))
    }) else {
        return Vec::new();
    };
    let mut item_indent: Option<usize> = None;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_item = trimmed.starts_with("- ") || trimmed == "-";
        match item_indent {
            None if is_item => {
                item_indent = Some(indent);
                out.push(i + 1);
            }
            None => break,
            Some(want) if is_item && indent == want => out.push(i + 1),
            Some(want) if indent > want => {}
            Some(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, LoadError> {
        parse_scenario(text, Path::new("scenarios/test.yaml"))
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let err = parse("name: x\nsteps:\n  - as: psa\n    discharge: { equipmnt: MSCU1234565 }\n")
            .unwrap_err();
        assert_eq!(err.file, "scenarios/test.yaml");
        assert_eq!(err.line, Some(4));
        assert!(
            err.message.contains("unknown field `equipmnt`"),
            "{}",
            err.message
        );
        assert!(
            err.to_string().starts_with("scenarios/test.yaml:4:"),
            "{err}"
        );
    }

    #[test]
    fn unquoted_template_gets_a_hint() {
        let err =
            parse("name: x\nsteps:\n  - discharge: { equipment: {{equipment}} }\n").unwrap_err();
        assert!(
            err.message.contains("hint: quote templates"),
            "{}",
            err.message
        );
    }

    #[test]
    fn two_actions_in_one_step_are_rejected_with_the_step_line() {
        let err = parse(
            "name: x\nsteps:\n  - as: psa\n    discharge: { equipment: A }\n\n  - as: psa\n    discharge: { equipment: A }\n    gate_in: { equipment: A }\n",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(6));
        assert!(
            err.message.contains("discharge, gate_in"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_step_without_action_is_rejected() {
        let err = parse("name: x\nsteps:\n  - as: psa\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("has no action"), "{}", err.message);
    }

    #[test]
    fn modifiers_are_checked_against_the_action() {
        let err = parse("name: x\nsteps:\n  - expect_container: { equipment: A }\n    repeat: 3\n")
            .unwrap_err();
        assert!(
            err.message.contains("`repeat` cannot be used"),
            "{}",
            err.message
        );
        let err =
            parse("name: x\nsteps:\n  - discharge: { equipment: A }\n    capture: { x: foo }\n")
                .unwrap_err();
        assert!(err.message.contains("capture `x`"), "{}", err.message);
        let err = parse("name: x\nsteps:\n  - control: { reset: true, clear_faults: true }\n")
            .unwrap_err();
        assert!(
            err.message.contains("one thing per step"),
            "{}",
            err.message
        );
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let err = parse("name: x\nsteps:\n  - discharge: [\n").unwrap_err();
        assert!(err.line.is_some(), "{err}");
    }

    #[test]
    fn local_groups_and_params() {
        let s = parse(
            "name: x\ngroups:\n  rel:\n    params: { to: forwarder }\n    steps:\n      - as: agent\n        release_right: { equipment: A, to: \"{{to}}\" }\nsteps:\n  - use: rel\n    with: { to: trucker }\n",
        )
        .unwrap();
        let Action::Group(group) = &s.steps[0].action else {
            panic!("not a group")
        };
        assert_eq!(group.steps.len(), 1);
        assert_eq!(group.with["to"], Value::String("trucker".into()));
        let err = parse(
            "name: x\ngroups:\n  rel:\n    steps:\n      - control: { reset: true }\nsteps:\n  - use: rel\n    with: { nope: 1 }\n",
        )
        .unwrap_err();
        assert!(err.message.contains("not a parameter"), "{}", err.message);
        let err = parse("name: x\nsteps:\n  - use: missing\n").unwrap_err();
        assert!(
            err.message.contains("unknown group `missing`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn given_containers_expand_to_steps_and_variables() {
        let s = parse(
            "name: x\ngiven:\n  containers:\n    - { equipment: MSCU1234565, stage: released }\n    - { equipment: TGHU1234560 }\nsteps:\n  - control: { reset: true }\n",
        )
        .unwrap();
        assert_eq!(s.vars["equipment"], Value::String("MSCU1234565".into()));
        assert_eq!(s.vars["equipment2"], Value::String("TGHU1234560".into()));
        let names: Vec<&str> = s.steps.iter().map(|s| s.action_name()).collect();
        assert_eq!(
            names,
            [
                "release_right",
                "discharge",
                "control",
                "terminal_release",
                "control"
            ]
        );
    }

    #[test]
    fn step_lines_follow_the_block_list() {
        let text = "name: x\nsteps:\n  # comment\n  - a: 1\n    b: 2\n  - c: 3\n\n  - d: {\n      e: 1 }\nexpected_failure: x\n";
        assert_eq!(top_level_step_lines(text), vec![4, 6, 8]);
        let text = "steps:\n- a: 1\n- b: 2\nname: y\n";
        assert_eq!(top_level_step_lines(text), vec![2, 3]);
    }

    #[test]
    fn wait_is_bounded() {
        let s = parse("name: x\nsteps:\n  - wait: 250ms\n").unwrap();
        assert!(matches!(s.steps[0].action, Action::Wait(d) if d == Duration::from_millis(250)));
        let err = parse("name: x\nsteps:\n  - wait: 2h\n").unwrap_err();
        assert!(err.message.contains("advance_clock"), "{}", err.message);
    }

    #[test]
    fn eventually_forms() {
        let s = parse("name: x\nsteps:\n  - expect_container: { equipment: A }\n    eventually: 2s\n  - expect_container: { equipment: A }\n    eventually: { timeout: 1s, interval: 10ms }\n").unwrap();
        assert_eq!(
            s.steps[0].eventually.map(|e| e.timeout),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            s.steps[1].eventually.map(|e| e.interval),
            Some(Duration::from_millis(10))
        );
        let err = parse(
            "name: x\nsteps:\n  - expect_container: { equipment: A }\n    eventually: soon\n",
        )
        .unwrap_err();
        assert!(err.message.contains("not a duration"), "{}", err.message);
    }
}
