//! From the file's shape to a [`Policy`]: every check a policy passes
//! before a limiter can run it, with errors that name the field.

use super::spec::{Amount, BurstSpec, ClassSpec, OverrideSpec, PolicySpec};
use super::{
    burst_limit, BurstRule, ClassPolicy, Override, Policy, MAX_CLASSES, MAX_KEY_LEN, MAX_NAME_LEN,
    MAX_WINDOWS,
};
use crate::class::Class;
use crate::error::PolicyError;
use crate::length::WindowLength;
use crate::window::Window;

fn limit_value(amount: Amount, field: &str) -> Result<u32, PolicyError> {
    match amount.0 {
        None => Err(PolicyError::invalid(field, "must be a whole number")),
        Some(v) if v < 1 => Err(PolicyError::invalid(
            field,
            format!("must be at least 1, got {v}"),
        )),
        Some(v) => u32::try_from(v).map_err(|_| {
            PolicyError::invalid(
                field,
                format!("must be at most {} (u32::MAX), got {v}", u32::MAX),
            )
        }),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// An HTTP method token (RFC 9110 §5.6.2), at most 32 bytes.
fn valid_method(method: &str) -> bool {
    !method.is_empty()
        && method.len() <= MAX_NAME_LEN
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl BurstSpec {
    /// The burst window and how its limit is made, given the window it is
    /// pro-rated from.
    fn resolve(&self, field: &str, base: Window) -> Result<(Window, Option<u32>), PolicyError> {
        let window = self.window.ok_or_else(|| {
            PolicyError::invalid(format!("{field}.window"), "missing (e.g. window = \"10s\")")
        })?;
        if window >= base.length() {
            return Err(PolicyError::invalid(
                format!("{field}.window"),
                format!("the burst window ({window}) must be shorter than the window it bursts over ({})", base.length()),
            ));
        }
        match (self.multiplier, self.limit) {
            (Some(m), None) => {
                let m = limit_value(m, &format!("{field}.multiplier"))?;
                Ok((
                    Window::new(burst_limit(m, base.limit(), base.length(), window), window),
                    Some(m),
                ))
            }
            (None, Some(l)) => Ok((
                Window::new(limit_value(l, &format!("{field}.limit"))?, window),
                None,
            )),
            _ => Err(PolicyError::invalid(
                field,
                "give exactly one of `multiplier` and `limit`",
            )),
        }
    }
}

impl ClassSpec {
    fn resolve(&self, field: &str, name: &str) -> Result<ClassPolicy, PolicyError> {
        let mut windows: Vec<Window> = Vec::new();
        let mut base = None;
        match (self.limit, self.window) {
            (Some(limit), Some(window)) => {
                let w = Window::new(limit_value(limit, &format!("{field}.limit"))?, window);
                windows.push(w);
                base = Some(w);
            }
            (Some(_), None) => {
                return Err(PolicyError::invalid(
                    format!("{field}.window"),
                    "missing (e.g. window = \"1m\")",
                ))
            }
            (None, Some(_)) => {
                return Err(PolicyError::invalid(format!("{field}.limit"), "missing"))
            }
            (None, None) => {}
        }
        let mut burst = None;
        if let Some(spec) = &self.burst {
            let base = base.ok_or_else(|| {
                PolicyError::invalid(
                    format!("{field}.burst"),
                    "a burst needs the class's `limit` and `window`",
                )
            })?;
            let (w, multiplier) = spec.resolve(&format!("{field}.burst"), base)?;
            windows.push(w);
            burst = multiplier.map(|m| (m, base.length(), w.length()));
        }
        for (i, spec) in self.windows.iter().flatten().enumerate() {
            let entry = format!("{field}.windows[{i}]");
            let length = spec.window.ok_or_else(|| {
                PolicyError::invalid(format!("{entry}.window"), "missing (e.g. window = \"1h\")")
            })?;
            windows.push(Window::new(
                limit_value(spec.limit, &format!("{entry}.limit"))?,
                length,
            ));
        }
        if windows.is_empty() {
            return Err(PolicyError::invalid(
                field,
                "needs `limit` and `window`, or `windows`",
            ));
        }
        if windows.len() > MAX_WINDOWS {
            return Err(PolicyError::invalid(
                field,
                format!(
                    "has {} windows; at most {MAX_WINDOWS} are allowed",
                    windows.len()
                ),
            ));
        }
        windows.sort_by_key(|w| std::cmp::Reverse(w.length()));
        if let Some(pair) = windows.windows(2).find(|p| p[0].length() == p[1].length()) {
            return Err(PolicyError::invalid(
                field,
                format!("two windows of the same length ({})", pair[0].length()),
            ));
        }
        let index_of =
            |len: WindowLength| windows.iter().position(|w| w.length() == len).unwrap_or(0);
        let burst = burst.map(|(multiplier, base, burst)| BurstRule {
            multiplier,
            base: index_of(base),
            burst: index_of(burst),
        });
        for (i, method) in self.methods.iter().enumerate() {
            if !valid_method(method) {
                return Err(PolicyError::invalid(
                    format!("{field}.methods[{i}]"),
                    format!(
                        "{method:?} is not an HTTP method token of at most {MAX_NAME_LEN} bytes"
                    ),
                ));
            }
        }
        Ok(ClassPolicy {
            name: name.to_owned(),
            methods: self.methods.clone(),
            windows,
            burst,
        })
    }
}

impl OverrideSpec {
    fn resolve(
        &self,
        field: &str,
        classes: &[ClassPolicy],
        names: &[&str],
    ) -> Result<Override, PolicyError> {
        if self.key.is_empty() || self.key.len() > MAX_KEY_LEN {
            return Err(PolicyError::invalid(
                format!("{field}.key"),
                format!("must be 1 to {MAX_KEY_LEN} bytes"),
            ));
        }
        let index = names.iter().position(|n| *n == self.class).ok_or_else(|| {
            PolicyError::invalid(
                format!("{field}.class"),
                format!(
                    "unknown class {:?} (classes: {})",
                    self.class,
                    names.join(", ")
                ),
            )
        })?;
        let class = &classes[index];
        let mut limits = match self.limit {
            Some(l) => Policy::scaled_limits(class, limit_value(l, &format!("{field}.limit"))?),
            None => class.windows.iter().map(Window::limit).collect(),
        };
        if let Some(burst) = &self.burst {
            let rule = class.burst.map(|r| r.burst).or(if class.windows.len() > 1 {
                Some(1)
            } else {
                None
            });
            let slot = rule.ok_or_else(|| {
                PolicyError::invalid(format!("{field}.burst"), "the class has no burst window")
            })?;
            let base = Window::new(
                limits[class.burst.map_or(0, |r| r.base)],
                class.windows[class.burst.map_or(0, |r| r.base)].length(),
            );
            let (w, _) = burst.resolve(&format!("{field}.burst"), base)?;
            if w.length() != class.windows[slot].length() {
                return Err(PolicyError::invalid(
                    format!("{field}.burst.window"),
                    format!("must be the class's burst window ({}); an override changes limits, not windows", class.windows[slot].length()),
                ));
            }
            limits[slot] = w.limit();
        }
        if let Some(list) = &self.windows {
            if self.limit.is_some() || self.burst.is_some() {
                return Err(PolicyError::invalid(
                    format!("{field}.windows"),
                    "give either `windows` or `limit`/`burst`",
                ));
            }
            if list.len() != class.windows.len() {
                return Err(PolicyError::invalid(
                    format!("{field}.windows"),
                    format!(
                        "the class has {} windows; the override gives {}",
                        class.windows.len(),
                        list.len()
                    ),
                ));
            }
            let mut seen = [false; MAX_WINDOWS];
            for (i, spec) in list.iter().enumerate() {
                let entry = format!("{field}.windows[{i}]");
                let slot = match spec.window {
                    None => i,
                    Some(len) => class
                        .windows
                        .iter()
                        .position(|w| w.length() == len)
                        .ok_or_else(|| {
                            PolicyError::invalid(
                                format!("{entry}.window"),
                                format!("the class has no {len} window"),
                            )
                        })?,
                };
                if std::mem::replace(&mut seen[slot], true) {
                    return Err(PolicyError::invalid(
                        format!("{entry}.window"),
                        "window given twice",
                    ));
                }
                limits[slot] = limit_value(spec.limit, &format!("{entry}.limit"))?;
            }
        }
        if self.limit.is_none() && self.burst.is_none() && self.windows.is_none() {
            return Err(PolicyError::invalid(
                field,
                "gives no limits: set `limit`, `burst` or `windows`",
            ));
        }
        let class = Class(u8::try_from(index).unwrap_or(u8::MAX));
        Ok(Override {
            key: self.key.clone(),
            class,
            limits,
        })
    }
}

impl PolicySpec {
    /// Validates the file and builds the policy.
    pub(crate) fn into_policy(self) -> Result<Policy, PolicyError> {
        if self.classes.is_empty() {
            return Err(PolicyError::invalid(
                "classes",
                "at least one class is required",
            ));
        }
        if self.classes.len() > MAX_CLASSES {
            return Err(PolicyError::invalid(
                "classes",
                format!("at most {MAX_CLASSES} classes are allowed"),
            ));
        }
        let mut classes: Vec<ClassPolicy> = Vec::with_capacity(self.classes.len());
        for (name, spec) in &self.classes {
            let field = format!("classes.{name}");
            if !valid_name(name) {
                return Err(PolicyError::invalid(
                    field,
                    format!("class names are 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 _ - ."),
                ));
            }
            if classes.iter().any(|c| c.name == *name) {
                return Err(PolicyError::invalid(field, "duplicate class name"));
            }
            let class = spec.resolve(&field, name)?;
            for (i, method) in class.methods.iter().enumerate() {
                let owner = classes
                    .iter()
                    .find(|c| c.methods.contains(method))
                    .map(|c| c.name.clone());
                let twice = class.methods[..i].contains(method);
                if let Some(owner) = owner.or(twice.then(|| name.clone())) {
                    return Err(PolicyError::invalid(
                        format!("{field}.methods[{i}]"),
                        format!("method {method} is already in class {owner:?}"),
                    ));
                }
            }
            classes.push(class);
        }
        let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
        let mut overrides: Vec<Override> = Vec::with_capacity(self.overrides.len());
        for (i, spec) in self.overrides.iter().enumerate() {
            let field = format!("overrides[{i}]");
            let o = spec.resolve(&field, &classes, &names)?;
            if overrides
                .iter()
                .any(|p| p.key == o.key && p.class == o.class)
            {
                return Err(PolicyError::invalid(
                    field,
                    format!(
                        "a second override for key {:?} and class {:?}",
                        o.key, spec.class
                    ),
                ));
            }
            overrides.push(o);
        }
        Ok(Policy { classes, overrides })
    }
}
