//! `settings`: app-wide preferences as JSON values under string keys.

use crate::error::Result;
use crate::Store;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

impl Store {
    /// The setting `key` as `T`, or `None` if it was never set.
    ///
    /// # Errors
    /// `Error::Json` when the stored value does not fit `T`.
    pub fn get_setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")?;
        let text: Option<String> = stmt.query_row([key], |row| row.get(0)).optional()?;
        Ok(text.map(|text| serde_json::from_str(&text)).transpose()?)
    }

    /// Saves the setting `key`.
    pub fn set_setting<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let json = serde_json::to_string(value)?;
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, json],
        )?;
        Ok(())
    }

    /// Removes the setting `key` (back to its default); `false` if it was not set.
    pub fn delete_setting(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM settings WHERE key = ?1", [key])?
            > 0)
    }
}
