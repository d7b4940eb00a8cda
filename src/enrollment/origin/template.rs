//! What an untrusted request may do, bound to its stack's template: each property that widens harm
//! ([`Harm`]) must have, in the template CloudFormation runs, the value the request carries.
//!
//! GetTemplate answers the stack's template; `TemplateStage: Processed` is the one after transforms, the same as
//! the original for a template without them (API Reference, GetTemplate: TemplateStage). During an update the
//! stack holds the new template, whose properties are the Update's new ones; after a rollback the previous one
//! again (an emulator maintainer measured "GetTemplate returns the previous template and DescribeStacks the
//! previous parameters" after an update rolled back: ministackorg/ministack issue 1601). A Delete's properties
//! are the resource's last ones (User Guide, "Custom resource request objects": ResourceProperties), those of the
//! template the stack runs.
//!
//! Only what can be read soundly counts: a literal, or `{"Ref": parameter}` with the parameter's value from
//! DescribeStacks (its `ResolvedValue` for an SSM parameter type; a NoEcho value is masked, "****", and cannot
//! be compared), and the pseudo parameters `AWS::AccountId`, `AWS::Region`, `AWS::Partition`, `AWS::NoValue`.
//! Any other intrinsic function (`Fn::If`, `Fn::Sub`, `Fn::ImportValue`, ...) and a template that is not JSON
//! (YAML: no YAML reader is in this provider) cannot be verified: the caller refuses that unless the operator
//! allows unverified values. A value the template shows otherwise is refused in any case.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::enrollment::authorization::Harm;
use crate::properties::Properties;

/// One property an untrusted request carries that its stack's template must have as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) property: &'static str,
    pub(crate) expected: Expected,
}

/// The request's value of a [`Binding`], as the properties parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    Text(String),
    True,
    /// Sorted and without duplicates; `None`: discovered (no `Regions`).
    Regions(Option<Vec<String>>),
}

/// What the template shows besides itself: the stack's parameters and pseudo parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) logical_id: &'a str,
    pub(crate) parameters: &'a BTreeMap<String, String>,
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) partition: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unbound {
    #[error("{property}: the stack's template has {template} here, not what the request asks for; an untrusted request may widen what the provider does only as its stack's template says")]
    Mismatch { property: &'static str, template: String },
    #[error("{property}: cannot be checked against the stack's template ({why}); an untrusted request may ask for it only when its template shows it, or when the operator sets ALLOW_UNVERIFIED_HARMFUL_PROPERTIES=true")]
    Unverifiable { property: &'static str, why: String },
}

impl Unbound {
    pub(crate) fn is_unverifiable(&self) -> bool {
        matches!(self, Unbound::Unverifiable { .. })
    }
}

/// The NoEcho mask DescribeStacks shows instead of a parameter's value (API Reference, Parameter).
const MASKED: &str = "****";
const SHOWN_CHARS: usize = 100;

/// The bindings of `harms`, with the values of `properties` (the request's, an Update's new ones).
pub(crate) fn bindings(harms: &[Harm], properties: &Properties) -> Vec<Binding> {
    let binding = |harm: &Harm| match harm {
        Harm::DisableSecurityHub => {
            Binding { property: "OnDelete", expected: Expected::Text("DisableSecurityHub".to_owned()) }
        }
        Harm::CloseAccount => Binding { property: "CloseAccountOnDelete", expected: Expected::True },
        Harm::AdministratorChange => Binding {
            property: "AdministratorAccountId",
            expected: Expected::Text(properties.administrator_account_id.to_string()),
        },
        Harm::DroppedRegions => {
            Binding { property: "Regions", expected: Expected::Regions(properties.regions.clone()) }
        }
    };
    harms.iter().map(binding).collect()
}

/// Ok when the template `body` holds every binding's value for the context's resource.
pub(crate) fn check(body: &str, context: Context<'_>, bindings: &[Binding]) -> Result<(), Unbound> {
    let Some(first) = bindings.first() else { return Ok(()) };
    let unverifiable = |why: String| Unbound::Unverifiable { property: first.property, why };
    let template: Value = serde_json::from_str(body)
        .map_err(|_| unverifiable("the template is not JSON; YAML templates cannot be read here".to_owned()))?;
    let resource = template.get("Resources").and_then(|resources| resources.get(context.logical_id));
    let resource =
        resource.ok_or_else(|| unverifiable(format!("the template holds no resource {}", context.logical_id)))?;
    let empty = Map::new();
    let properties = resource.get("Properties").and_then(Value::as_object).unwrap_or(&empty);
    for binding in bindings {
        bound(properties, context, binding)?;
    }
    Ok(())
}

fn bound(properties: &Map<String, Value>, context: Context<'_>, binding: &Binding) -> Result<(), Unbound> {
    let property = binding.property;
    let resolved = match properties.get(property) {
        None => None,
        Some(value) => resolve(value, context).map_err(|why| Unbound::Unverifiable { property, why })?,
    };
    if holds(&binding.expected, resolved.as_ref()) {
        Ok(())
    } else {
        Err(Unbound::Mismatch { property, template: shown(resolved.as_ref()) })
    }
}

/// The value CloudFormation would pass for `value` (`None`: left out, as `AWS::NoValue` makes it), or why it
/// cannot be known here.
fn resolve(value: &Value, context: Context<'_>) -> Result<Option<Value>, String> {
    match value {
        Value::Array(items) => {
            let mut resolved = Vec::with_capacity(items.len());
            for item in items {
                resolved.extend(resolve(item, context)?);
            }
            Ok(Some(Value::Array(resolved)))
        }
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((key, Value::String(name))) if key == "Ref" => reference(name, context),
            Some((key, _)) if key == "Ref" || key.starts_with("Fn::") => Err(format!("{key} is not evaluated here")),
            _ => Ok(Some(value.clone())),
        },
        other => Ok(Some(other.clone())),
    }
}

fn reference(name: &str, context: Context<'_>) -> Result<Option<Value>, String> {
    let text = |text: &str| Ok(Some(Value::String(text.to_owned())));
    match name {
        "AWS::AccountId" => text(context.account),
        "AWS::Region" => text(context.region),
        "AWS::Partition" => text(context.partition),
        "AWS::NoValue" => Ok(None),
        _ => match context.parameters.get(name) {
            Some(value) if value == MASKED => Err(format!("parameter {name} is NoEcho")),
            Some(value) => text(value),
            None => Err(format!("Ref {name} is neither a parameter of the stack nor a pseudo parameter it reads")),
        },
    }
}

/// Whether the template's value is the request's.
fn holds(expected: &Expected, found: Option<&Value>) -> bool {
    match expected {
        Expected::Text(text) => found.and_then(scalar).as_deref() == Some(text.as_str()),
        Expected::True => found.and_then(scalar).is_some_and(|text| text.eq_ignore_ascii_case("true")),
        Expected::Regions(regions) => match found {
            None => regions.is_none(),
            Some(value) => region_list(value).is_some_and(|found| regions.as_ref() == Some(&found)),
        },
    }
}

/// A scalar as CloudFormation passes it: text, numbers and booleans printed.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Region names as the properties parser reads them (a comma-separated string, or a list), sorted and unique.
fn region_list(value: &Value) -> Option<Vec<String>> {
    let names: Vec<String> = match value {
        Value::String(text) => text.split(',').map(|name| name.trim().to_owned()).collect(),
        Value::Array(items) => {
            items.iter().map(|item| scalar(item).map(|name| name.trim().to_owned())).collect::<Option<_>>()?
        }
        _ => return None,
    };
    let mut names: Vec<String> = names.into_iter().filter(|name| !name.is_empty()).collect();
    names.sort();
    names.dedup();
    Some(names)
}

fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else { return "no value".to_owned() };
    let text = value.to_string();
    let mut shown: String = text.chars().take(SHOWN_CHARS).filter(|c| !c.is_control()).collect();
    if text.chars().count() > SHOWN_CHARS {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests;
