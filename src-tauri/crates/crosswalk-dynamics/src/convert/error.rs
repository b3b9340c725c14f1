//! Why a value could not be converted, worded for the admin who maps the fields.

/// A value that cannot be carried across; every message names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The column and field types do not convert at all (see [`super::compatibility`]).
    #[error("{column} cannot be mapped to {field}: {reason}; map another field")]
    Incompatible {
        column: String,
        field: String,
        reason: String,
    },
    /// A choice, label, priority, component or version has no counterpart on the other side.
    #[error(
        "\"{value}\" matches no option of {field}{}; add a value-map pair for \"{value}\" to this field mapping",
        list_choices(.choices)
    )]
    NoMatchingOption {
        value: String,
        field: String,
        choices: Vec<String>,
    },
    /// A fraction for a whole-number column.
    #[error("{value} from Jira is not a whole number, but {column} takes only whole numbers; round it in Jira or map a decimal column")]
    NotWholeNumber { value: String, column: String },
    /// A value that is not of the form the field type needs.
    #[error("{value} is not {expected}, as {field} needs; correct the value or the mapping")]
    InvalidValue {
        value: String,
        field: String,
        expected: &'static str,
    },
    /// The Jira account's time zone, needed between date-only and date-time values.
    #[error("the Jira account's time zone \"{zone}\" is unknown, so {field} cannot be converted between a date and a date-time; set a time zone in the Jira profile of the connection's account")]
    UnknownTimeZone { zone: String, field: String },
    /// A Dynamics user without a Jira account of the same email address.
    #[error("Dynamics user {user} has no Jira account with the same email address, so {field} cannot be set; invite the user to Jira or give them the same email on both sides")]
    UnknownDataverseUser { user: String, field: String },
    /// A Jira user without a Dynamics user of the same email address.
    #[error("Jira user {user} has no Dynamics user with the same email address (or Jira hides the email), so {column} cannot be set; add the user to Dynamics or let Dynamics own this field")]
    UnknownJiraUser { user: String, column: String },
    /// A lookup whose display name was not read with the record.
    #[error("the name of {column} was not read with the record, so {field} cannot be filled; read records with formatted values")]
    MissingName { column: String, field: String },
    /// A column this mapping only writes to Jira.
    #[error(
        "{column} is not written from Jira ({reason}); set this field mapping's owner to Dynamics"
    )]
    ReadOnly { column: String, reason: String },
    /// A column Dynamics never leaves empty.
    #[error("{column} cannot be emptied in Dynamics; set {field} in Jira instead of clearing it")]
    CannotClear { column: String, field: String },
}

/// ` (choices: a, b, c)`, or a note that the choices are unknown.
fn list_choices(choices: &[String]) -> String {
    if choices.is_empty() {
        " (Crosswalk does not know this field's options)".to_owned()
    } else {
        format!(" (choices: {})", choices.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_fix() {
        let error = ConvertError::NoMatchingOption {
            value: "Urgent".into(),
            field: "Jira field Priority".into(),
            choices: vec!["High".into(), "Low".into()],
        };
        assert_eq!(
            error.to_string(),
            "\"Urgent\" matches no option of Jira field Priority (choices: High, Low); add a value-map pair for \"Urgent\" to this field mapping"
        );
        let error = ConvertError::NoMatchingOption {
            value: "3".into(),
            field: "Dynamics column Tags".into(),
            choices: Vec::new(),
        };
        assert!(error
            .to_string()
            .contains("does not know this field's options"));
        let error = ConvertError::NotWholeNumber {
            value: "2.5".into(),
            column: "Dynamics column Seats".into(),
        };
        assert!(error.to_string().contains("Seats takes only whole numbers"));
    }
}
