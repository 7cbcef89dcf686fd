package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// TeamMember is a user on a care team, with their escalation tier.
type TeamMember struct {
	UserID      string
	Username    string
	DisplayName string
	Tier        rpm.Tier
}

// TeamWithMembers is a care team and its members, first responders first.
type TeamWithMembers struct {
	rpm.CareTeam
	Members  []TeamMember
	Patients int
}

// teamsWithMembersSQL selects teams aliased t with their members as JSON; callers add WHERE,
// GROUP BY t.id and ORDER BY.
const teamsWithMembersSQL = `
	SELECT t.id, t.name, t.description, t.ack_window,
	       (SELECT count(*) FROM patient_care_teams pct WHERE pct.team_id = t.id),
	       coalesce(json_agg(json_build_object('user_id', u.id, 'username', u.username,
	                'display_name', u.display_name, 'tier', m.tier)
	                ORDER BY m.tier, u.display_name) FILTER (WHERE u.id IS NOT NULL), '[]')
	FROM care_teams t
	LEFT JOIN care_team_members m ON m.team_id = t.id
	LEFT JOIN users u ON u.id = m.user_id`

func scanTeam(row pgx.CollectableRow) (TeamWithMembers, error) {
	var t TeamWithMembers
	var members []struct {
		UserID      string `json:"user_id"`
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Tier        int    `json:"tier"`
	}
	err := row.Scan(&t.ID, &t.Name, &t.Description, &t.AckWindow, &t.Patients, &members)
	for _, m := range members {
		t.Members = append(t.Members, TeamMember{m.UserID, m.Username, m.DisplayName, rpm.Tier(m.Tier)})
	}
	return t, err
}

// Teams lists every care team with its members.
func (s *Store) Teams(ctx context.Context) ([]TeamWithMembers, error) {
	rows, err := s.pool.Query(ctx, teamsWithMembersSQL+` GROUP BY t.id ORDER BY t.name`)
	return collect("teams", rows, err, scanTeam)
}

// CreateTeam adds a care team. It returns ErrConflict when the name is taken.
func (s *Store) CreateTeam(ctx context.Context, name, description string, ackWindow time.Duration) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO care_teams (name, description, ack_window) VALUES ($1, $2, $3) RETURNING id`,
		name, description, ackWindow).Scan(&id)
	if isUniqueViolation(err) {
		return "", ErrConflict
	}
	if err != nil {
		return "", fmt.Errorf("store: create team: %w", err)
	}
	return id, nil
}

// SetTeamMember puts a user on a team at a tier, or moves them to that tier. It returns
// ErrNotFound when the team or the user does not exist.
func (s *Store) SetTeamMember(ctx context.Context, teamID, userID string, tier rpm.Tier) error {
	if !rpm.IsID(teamID) || !rpm.IsID(userID) {
		return ErrNotFound
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO care_team_members (team_id, user_id, tier) VALUES ($1, $2, $3)
		ON CONFLICT (team_id, user_id) DO UPDATE SET tier = EXCLUDED.tier`, teamID, userID, int(tier))
	if isForeignKeyViolation(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: set team member: %w", err)
	}
	return nil
}

// RemoveTeamMember takes a user off a team. It returns ErrNotFound when they were not on it.
func (s *Store) RemoveTeamMember(ctx context.Context, teamID, userID string) error {
	if !rpm.IsID(teamID) || !rpm.IsID(userID) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM care_team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
	if err != nil {
		return fmt.Errorf("store: remove team member: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
