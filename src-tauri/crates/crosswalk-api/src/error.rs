//! Converting any failure into the [`AppError`] the UI shows: code, sentence, fix, field problems.

use crate::dto::{AppError, FieldError};
use crosswalk_core::{Code, UserFacing, ValidationError};
use std::fmt;

/// Field-level problems found before anything was written.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// What was being saved ("connection", "job", "configuration file").
    pub what: String,
    pub problems: Vec<ValidationError>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "The {} has {n} problem{}: ",
            self.what,
            if n == 1 { "" } else { "s" }
        )?;
        for (idx, problem) in self.problems.iter().enumerate() {
            if idx > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// `site_url` → `siteUrl`, so field problems line up with the form's keys.
pub fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The form key a config field belongs to (`secret.env` → `secretEnv`).
pub fn form_field(config_field: &str) -> String {
    match config_field {
        "secret.keychain" => "name".into(),
        other => camel_case(&other.replace('.', "_")),
    }
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> AppError {
        if let Some(invalid) = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<Invalid>())
        {
            return AppError {
                code: Code::Validation,
                message: invalid.to_string(),
                fix: Some("Correct the highlighted fields and save again.".into()),
                fields: invalid
                    .problems
                    .iter()
                    .map(|problem| FieldError {
                        field: form_field(&problem.field),
                        message: problem.message.clone(),
                    })
                    .collect(),
            };
        }
        let user_facing = crosswalk_engine::engine::user_facing_of(&error);
        if user_facing.code == Code::Unknown {
            // Logged once here, at the boundary, with the whole chain.
            tracing::error!(message = "Command failed.", error = format!("{error:#}"));
        }
        AppError::from(user_facing)
    }
}

impl From<UserFacing> for AppError {
    fn from(user_facing: UserFacing) -> AppError {
        AppError {
            code: user_facing.code,
            message: user_facing.message,
            fix: user_facing.fix,
            fields: Vec::new(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\nFix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_the_form() {
        assert_eq!(camel_case("site_url"), "siteUrl");
        assert_eq!(camel_case("name"), "name");
        let err = anyhow::Error::new(Invalid {
            what: "connection".into(),
            problems: vec![
                ValidationError::new("tenant_id", "bad"),
                ValidationError::new("secret.env", "bad"),
            ],
        });
        let app = AppError::from(err);
        assert_eq!(app.code, Code::Validation);
        let fields: Vec<_> = app.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["tenantId", "secretEnv"]);
    }
}
