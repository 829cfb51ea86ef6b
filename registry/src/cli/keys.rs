//! `user …` and `admin rotate-key`: access keys, managed while `serve` runs.

use berth_registry::config;
use berth_registry::credentials;
use berth_registry::services::{self, users};
use berth_registry::storage::AccessKey;

use super::{block_on, open_metadata, print_json};
use crate::{MetadataArgs, UserCommand};

pub(crate) fn key_json(account_id: &str, name: &str, key: &AccessKey) -> serde_json::Value {
    serde_json::json!({
        "userName": name,
        "arn": config::user_arn(account_id, name),
        "accessKeyId": key.access_key_id,
        "secretAccessKey": key.secret_access_key,
    })
}

pub(crate) fn user(command: UserCommand) -> Result<(), String> {
    let text = |e: services::Error| e.to_string();
    match command {
        UserCommand::Add { name, target } => {
            users::validate_user_name(&name).map_err(text)?;
            block_on(async {
                let store = open_metadata(&target, true).await?;
                let key = users::add(store.as_ref(), &name).await.map_err(text)?;
                let account = users::account_id(store.as_ref()).await.map_err(text)?;
                print_json(&key_json(&account, &name, &key))
            })
        }
        UserCommand::List { target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            let account = users::account_id(store.as_ref()).await.map_err(text)?;
            let list: Vec<serde_json::Value> = users::list(store.as_ref())
                .await
                .map_err(text)?
                .into_iter()
                .map(|u| {
                    serde_json::json!({
                        "userName": u.user_name,
                        "arn": config::user_arn(&account, &u.user_name),
                        "accessKeyIds": u.access_key_ids,
                        "createdAt": u.created_at,
                    })
                })
                .collect();
            print_json(&serde_json::Value::Array(list))
        }),
        UserCommand::Remove { name, target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            users::remove(store.as_ref(), &name).await.map_err(text)?;
            eprintln!("berth-registry: removed user '{name}'; its keys and tokens no longer work");
            Ok(())
        }),
        UserCommand::RotateKey { name, target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            let key = users::rotate_key(store.as_ref(), &name)
                .await
                .map_err(text)?;
            let account = users::account_id(store.as_ref()).await.map_err(text)?;
            print_json(&key_json(&account, &name, &key))
        }),
    }
}

pub(crate) fn rotate_admin_key(target: MetadataArgs) -> Result<(), String> {
    let text = |e: services::Error| e.to_string();
    block_on(async {
        let store = open_metadata(&target, false).await?;
        let key = users::rotate_admin_key(store.as_ref())
            .await
            .map_err(text)?;
        let account = users::account_id(store.as_ref()).await.map_err(text)?;
        let arn = config::root_arn(&account);
        // A scale-out registry keeps the key only in its database.
        let file = match &target.database {
            Some(_) => None,
            None => {
                let data = &target.data;
                let endpoint =
                    credentials::read_endpoint(data).unwrap_or_else(|| credentials::Endpoint {
                        region: config::DEFAULT_REGION.to_string(),
                        endpoint_url: format!("http://{}", config::DEFAULT_LISTEN),
                    });
                Some(
                    credentials::write_admin(data, &key, &arn, &endpoint)
                        .map_err(|e| format!("{}: {e}", data.display()))?,
                )
            }
        };
        print_json(&serde_json::json!({
            "arn": arn,
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret_access_key,
            "credentialsFile": file,
        }))
    })
}
