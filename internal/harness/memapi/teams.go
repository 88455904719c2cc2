package memapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func cloneTeam(t *model.Team) *model.Team {
	c := *t
	return &c
}

func cloneTeamMember(m *model.TeamMember) *model.TeamMember {
	c := *m
	return &c
}

// CreateTeam validates and stores a team.
func (a *API) CreateTeam(team *model.Team) (*model.Team, *model.AppError) {
	if team == nil {
		return nil, badRequest("CreateTeam", "api.context.invalid_body_param.app_error", "team is nil")
	}
	t := cloneTeam(team)
	t.PreSave()
	if appErr := t.IsValid(); appErr != nil {
		return nil, appErr
	}
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.teams {
		if other.Name == t.Name {
			return nil, badRequest("CreateTeam", "app.team.save.existing.app_error", "name="+t.Name)
		}
	}
	s.teams[t.Id] = t
	return cloneTeam(t), nil
}

func (s *Server) teamLocked(where, teamID string) (*model.Team, *model.AppError) {
	t, ok := s.teams[teamID]
	if !ok {
		return nil, notFound(where, "app.team.get.find.app_error", "team_id="+teamID)
	}
	return t, nil
}

// GetTeam returns the team with this id.
func (a *API) GetTeam(teamID string) (*model.Team, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	t, appErr := a.s.teamLocked("GetTeam", teamID)
	if appErr != nil {
		return nil, appErr
	}
	return cloneTeam(t), nil
}

// GetTeamByName returns the team with this name.
func (a *API) GetTeamByName(name string) (*model.Team, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if t := a.s.teamByNameLocked(name); t != nil {
		return cloneTeam(t), nil
	}
	return nil, notFound("GetTeamByName", "app.team.get_by_name.missing.app_error", "name="+name)
}

func (s *Server) teamByNameLocked(name string) *model.Team {
	for _, t := range s.teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// GetTeams returns every team, ordered by name.
func (a *API) GetTeams() ([]*model.Team, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	return a.s.sortedTeamsLocked(func(*model.Team) bool { return true }), nil
}

func (s *Server) sortedTeamsLocked(keep func(*model.Team) bool) []*model.Team {
	out := []*model.Team{}
	for _, t := range s.teams {
		if keep(t) {
			out = append(out, cloneTeam(t))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SearchTeams returns the teams whose name or display name contains term.
func (a *API) SearchTeams(term string) ([]*model.Team, *model.AppError) {
	term = strings.ToLower(term)
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	return a.s.sortedTeamsLocked(func(t *model.Team) bool {
		return strings.Contains(t.Name, term) || strings.Contains(strings.ToLower(t.DisplayName), term)
	}), nil
}

// GetTeamsForUser returns the teams the user is an active member of.
func (a *API) GetTeamsForUser(userID string) ([]*model.Team, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	return a.s.sortedTeamsLocked(func(t *model.Team) bool { return a.s.isTeamMemberLocked(t.Id, userID) }), nil
}

// UpdateTeam replaces the editable fields of an existing team.
func (a *API) UpdateTeam(team *model.Team) (*model.Team, *model.AppError) {
	if team == nil {
		return nil, badRequest("UpdateTeam", "api.context.invalid_body_param.app_error", "team is nil")
	}
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old, appErr := s.teamLocked("UpdateTeam", team.Id)
	if appErr != nil {
		return nil, appErr
	}
	t := cloneTeam(old)
	t.DisplayName = team.DisplayName
	t.Description = team.Description
	t.CompanyName = team.CompanyName
	t.AllowedDomains = team.AllowedDomains
	t.AllowOpenInvite = team.AllowOpenInvite
	t.GroupConstrained = team.GroupConstrained
	t.PreUpdate()
	t.UpdateAt = s.nowMillis()
	if appErr := t.IsValid(); appErr != nil {
		return nil, appErr
	}
	s.teams[t.Id] = t
	return cloneTeam(t), nil
}

// DeleteTeam soft-deletes a team, like the plugin API does.
func (a *API) DeleteTeam(teamID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t, appErr := s.teamLocked("DeleteTeam", teamID)
	if appErr != nil {
		return appErr
	}
	t.DeleteAt = s.nowMillis()
	t.UpdateAt = t.DeleteAt
	return nil
}

func (s *Server) isTeamMemberLocked(teamID, userID string) bool {
	m, ok := s.teamMembers[teamID][userID]
	return ok && m.DeleteAt == 0
}

// CreateTeamMember adds a user to a team. TeamMemberWillBeAdded may replace or reject the
// member; UserHasJoinedTeam fires afterwards.
func (a *API) CreateTeamMember(teamID, userID string) (*model.TeamMember, *model.AppError) {
	return a.addTeamMember("CreateTeamMember", teamID, userID, "")
}

func (a *API) addTeamMember(where, teamID, userID, actorID string) (*model.TeamMember, *model.AppError) {
	s := a.s
	s.mu.RLock()
	if _, appErr := s.teamLocked(where, teamID); appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	user, appErr := s.userLocked(where, userID)
	if appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	if existing, ok := s.teamMembers[teamID][userID]; ok && existing.DeleteAt == 0 {
		s.mu.RUnlock()
		return cloneTeamMember(existing), nil
	}
	guest := user.IsGuest()
	s.mu.RUnlock()

	roles := model.TeamUserRoleId
	if guest {
		roles = model.TeamGuestRoleId
	}
	member := &model.TeamMember{TeamId: teamID, UserId: userID, Roles: roles, SchemeUser: !guest, SchemeGuest: guest}
	var rejection string
	s.runHook(plugin.TeamMemberWillBeAddedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		replacement, reason := hooks.TeamMemberWillBeAdded(hookContext(), cloneTeamMember(member))
		if reason != "" {
			rejection = reason
			return false
		}
		if replacement != nil {
			member = replacement
		}
		return true
	})
	if rejection != "" {
		return nil, model.NewAppError(where, "Team member rejected by plugin. "+rejection, nil, "", http.StatusBadRequest)
	}
	member.TeamId, member.UserId = teamID, userID
	member.DeleteAt = 0
	member.CreateAt = s.nowMillis()
	if appErr := member.IsValid(); appErr != nil {
		return nil, appErr
	}

	s.mu.Lock()
	if s.teamMembers[teamID] == nil {
		s.teamMembers[teamID] = map[string]*model.TeamMember{}
	}
	s.teamMembers[teamID][userID] = cloneTeamMember(member)
	var actor *model.User
	if u, ok := s.users[actorID]; ok {
		actor = sanitized(u)
	}
	s.mu.Unlock()

	joined := cloneTeamMember(member)
	s.runHookAsync(plugin.UserHasJoinedTeamID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.UserHasJoinedTeam(hookContext(), cloneTeamMember(joined), actor)
		return true
	})
	return cloneTeamMember(member), nil
}

// CreateTeamMembers adds several users to a team, stopping at the first failure.
func (a *API) CreateTeamMembers(teamID string, userIDs []string, requestorID string) ([]*model.TeamMember, *model.AppError) {
	out := []*model.TeamMember{}
	for _, id := range userIDs {
		m, appErr := a.addTeamMember("CreateTeamMembers", teamID, id, requestorID)
		if appErr != nil {
			return nil, appErr
		}
		out = append(out, m)
	}
	return out, nil
}

// GetTeamMember returns one active membership.
func (a *API) GetTeamMember(teamID, userID string) (*model.TeamMember, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if m, ok := a.s.teamMembers[teamID][userID]; ok && m.DeleteAt == 0 {
		return cloneTeamMember(m), nil
	}
	return nil, notFound("GetTeamMember", "app.team.get_member.missing.app_error", "team_id="+teamID+" user_id="+userID)
}

// GetTeamMembers pages through the active members of a team, ordered by user id.
func (a *API) GetTeamMembers(teamID string, pageNum, perPage int) ([]*model.TeamMember, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var out []*model.TeamMember
	for _, m := range a.s.teamMembers[teamID] {
		if m.DeleteAt == 0 {
			out = append(out, cloneTeamMember(m))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserId < out[j].UserId })
	return page(out, pageNum, perPage), nil
}

// GetTeamMembersForUser pages through a user's active team memberships, ordered by team id.
func (a *API) GetTeamMembersForUser(userID string, pageNum, perPage int) ([]*model.TeamMember, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var out []*model.TeamMember
	for _, members := range a.s.teamMembers {
		if m, ok := members[userID]; ok && m.DeleteAt == 0 {
			out = append(out, cloneTeamMember(m))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TeamId < out[j].TeamId })
	return page(out, pageNum, perPage), nil
}

// UpdateTeamMemberRoles replaces a member's explicit roles.
func (a *API) UpdateTeamMemberRoles(teamID, userID, newRoles string) (*model.TeamMember, *model.AppError) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	m, ok := a.s.teamMembers[teamID][userID]
	if !ok || m.DeleteAt != 0 {
		return nil, notFound("UpdateTeamMemberRoles", "app.team.get_member.missing.app_error", "team_id="+teamID+" user_id="+userID)
	}
	m.ExplicitRoles = newRoles
	return cloneTeamMember(m), nil
}

// DeleteTeamMember removes a user from a team; UserHasLeftTeam fires afterwards.
func (a *API) DeleteTeamMember(teamID, userID, requestorID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	m, ok := s.teamMembers[teamID][userID]
	if !ok || m.DeleteAt != 0 {
		s.mu.Unlock()
		return notFound("DeleteTeamMember", "app.team.get_member.missing.app_error", "team_id="+teamID+" user_id="+userID)
	}
	m.DeleteAt = s.nowMillis()
	left := cloneTeamMember(m)
	var actor *model.User
	if u, ok := s.users[requestorID]; ok && requestorID != userID {
		actor = sanitized(u)
	}
	s.mu.Unlock()

	s.runHookAsync(plugin.UserHasLeftTeamID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.UserHasLeftTeam(hookContext(), cloneTeamMember(left), actor)
		return true
	})
	return nil
}
