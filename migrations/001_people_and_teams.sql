-- People, care teams, patients and who may see them.
--
-- Users are keyed by their OpenID Connect issuer and subject (never by e-mail, which can change or be
-- reused). Roles come from the identity provider's role claim and are mirrored here at each sign-in;
-- care-team membership is Vigil's own.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer        text NOT NULL CHECK (issuer <> ''),
    subject       text NOT NULL CHECK (subject <> ''),
    username      text NOT NULL CHECK (username <> ''),
    display_name  text NOT NULL,
    email         text NOT NULL DEFAULT '',
    roles         text[] NOT NULL DEFAULT '{}'
                  CHECK (roles <@ ARRAY['clinician', 'pcp', 'patient', 'admin']::text[]),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    UNIQUE (issuer, subject)
);

-- ack_window is how long a firing alert may wait for a first responder before it escalates to the
-- next tier of the team.
CREATE TABLE care_teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    ack_window  interval NOT NULL DEFAULT '15 minutes' CHECK (ack_window > '0'::interval),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- tier 1 answers first; an unacknowledged alert escalates to tier 2, then 3.
CREATE TABLE care_team_members (
    team_id  uuid NOT NULL REFERENCES care_teams (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier     smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 3),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX care_team_members_user ON care_team_members (user_id);

-- A patient may be linked to the user account they sign in to the portal with.
-- time_zone is the patient's own: RPM billing counts days on the patient's local calendar.
CREATE TABLE patients (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    mrn         text NOT NULL UNIQUE CHECK (mrn <> ''),
    family_name text NOT NULL CHECK (family_name <> ''),
    given_name  text NOT NULL,
    birth_date  date NOT NULL,
    sex         text NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    time_zone   text NOT NULL DEFAULT 'UTC',
    user_id     uuid UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patient_care_teams (
    patient_id uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    team_id    uuid NOT NULL REFERENCES care_teams (id) ON DELETE CASCADE,
    since      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, team_id)
);
CREATE INDEX patient_care_teams_team ON patient_care_teams (team_id);

-- A share lets one user (usually a primary care physician) see one patient until it expires or is
-- revoked. Expiry is checked at the moment of access, never by a batch job.
CREATE TABLE shares (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    grantee_id uuid NOT NULL REFERENCES users (id),
    granted_by uuid NOT NULL REFERENCES users (id),
    reason     text NOT NULL CHECK (reason <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by uuid REFERENCES users (id),
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX shares_grantee_active ON shares (grantee_id, patient_id) WHERE revoked_at IS NULL;
CREATE INDEX shares_patient ON shares (patient_id);
