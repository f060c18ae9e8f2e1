//! From a [`Policy`] back to the file's shape, which serde writes: the
//! TOML and JSON forms and a policy within an application's own
//! configuration. Reading that shape back gives an equal policy.

use super::spec::{BurstSpec, ClassSpec, OverrideSpec, PolicySpec, WindowSpec};
use super::{ClassPolicy, Policy};
use crate::window::Window;

impl ClassSpec {
    /// The class in the file's shape.
    fn from_class(class: &ClassPolicy) -> Self {
        let wspec = |w: &Window| WindowSpec {
            limit: w.limit().into(),
            window: Some(w.length()),
        };
        match class.burst {
            Some(rule) => {
                let base = class.windows[rule.base];
                let burst = class.windows[rule.burst];
                let rest: Vec<WindowSpec> = class
                    .windows
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != rule.base && *i != rule.burst)
                    .map(|(_, w)| wspec(w))
                    .collect();
                ClassSpec {
                    methods: class.methods.clone(),
                    limit: Some(base.limit().into()),
                    window: Some(base.length()),
                    burst: Some(BurstSpec {
                        multiplier: Some(rule.multiplier.into()),
                        limit: None,
                        window: Some(burst.length()),
                    }),
                    windows: (!rest.is_empty()).then_some(rest),
                }
            }
            None => ClassSpec {
                methods: class.methods.clone(),
                windows: Some(class.windows.iter().map(wspec).collect()),
                ..ClassSpec::default()
            },
        }
    }
}

impl Policy {
    /// The file form of the policy; parsing it gives back an equal policy.
    pub(crate) fn to_spec(&self) -> PolicySpec {
        PolicySpec {
            classes: self
                .classes
                .iter()
                .map(|c| (c.name.clone(), ClassSpec::from_class(c)))
                .collect(),
            overrides: self
                .overrides
                .iter()
                .map(|o| OverrideSpec {
                    key: o.key.clone(),
                    class: self.classes[o.class.index()].name.clone(),
                    windows: Some(
                        o.limits
                            .iter()
                            .zip(&self.classes[o.class.index()].windows)
                            .map(|(&l, w)| WindowSpec {
                                limit: l.into(),
                                window: Some(w.length()),
                            })
                            .collect(),
                    ),
                    ..OverrideSpec::default()
                })
                .collect(),
        }
    }
}
