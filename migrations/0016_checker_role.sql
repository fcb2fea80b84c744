-- The `checker` role: a shop's key that can call only POST /v1/checks, bound to its operator like an operator key,
-- and answered allow / review / refuse with counts, never with other operators' cluster or record identifiers.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('operator', 'checker', 'analyst', 'admin'));
ALTER TABLE api_keys DROP CONSTRAINT api_keys_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_operator_check
  CHECK ((role IN ('operator', 'checker')) = (operator_id IS NOT NULL));
