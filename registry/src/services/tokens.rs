//! GetAuthorizationToken: the password `docker login` uses.

use base64::Engine;
use berth_model::ecr::{
    AuthorizationData, GetAuthorizationTokenRequest, GetAuthorizationTokenResponse,
};

use super::error::Result;
use crate::auth::{tokens, Principal};
use crate::clock::now_epoch_seconds;
use crate::storage::TokenRecord;
use crate::AppState;

pub async fn get_authorization_token(
    state: &AppState,
    principal: &Principal,
    // Its `registryIds` were checked by routes/ecr, with every action's `registryId`.
    _request: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResponse> {
    let token = tokens::new_registry_token();
    let now = now_epoch_seconds();
    let expires_at = (now + tokens::TOKEN_LIFETIME.as_secs_f64()).floor();
    let record = TokenRecord {
        access_key_id: principal.access_key_id.clone(),
        user_name: principal.user_name.clone(),
        expires_at,
    };
    state
        .metadata
        .insert_token(&tokens::token_hash(&token), &record, now)
        .await?;
    Ok(GetAuthorizationTokenResponse {
        authorization_data: vec![AuthorizationData {
            authorization_token: base64::engine::general_purpose::STANDARD
                .encode(format!("AWS:{token}")),
            expires_at,
            proxy_endpoint: state.config.public_url.clone(),
        }],
    })
}
