package memapi

import (
	"maps"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// missingAccountError is the app layer's id for "no such user".
const missingAccountError = "app.user.missing_account.const"

// plainHasher stands in for bcrypt: the harness never checks passwords, it only must not keep
// them in clear text in what it hands back.
type plainHasher struct{}

func (plainHasher) Hash(password string) (string, error) { return "hashed:" + password, nil }

func cloneUser(u *model.User) *model.User {
	c := *u
	c.Props = maps.Clone(u.Props)
	c.NotifyProps = maps.Clone(u.NotifyProps)
	c.Timezone = maps.Clone(u.Timezone)
	return &c
}

// sanitized is a copy without the password hash and MFA secret (model.User.Sanitize with no
// options), so nothing the harness returns carries them.
func sanitized(u *model.User) *model.User {
	c := cloneUser(u)
	c.Sanitize(map[string]bool{})
	return c
}

// CreateUser validates and stores a user; UserHasBeenCreated fires afterwards.
func (a *API) CreateUser(user *model.User) (*model.User, *model.AppError) {
	if user == nil {
		return nil, badRequest("CreateUser", "api.context.invalid_body_param.app_error", "user is nil")
	}
	u := cloneUser(user)
	if appErr := u.PreSave(plainHasher{}); appErr != nil {
		return nil, appErr
	}
	if appErr := u.IsValid(); appErr != nil {
		return nil, appErr
	}
	s := a.s
	s.mu.Lock()
	if appErr := s.checkUserUniqueLocked(u); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	s.users[u.Id] = u
	created := sanitized(u)
	s.mu.Unlock()

	s.runHookAsync(plugin.UserHasBeenCreatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.UserHasBeenCreated(hookContext(), cloneUser(created))
		return true
	})
	return cloneUser(created), nil
}

func (s *Server) checkUserUniqueLocked(u *model.User) *model.AppError {
	for _, other := range s.users {
		if other.Id == u.Id {
			continue
		}
		if other.Username == u.Username {
			return badRequest("CreateUser", "app.user.save.username_exists.app_error", "username="+u.Username)
		}
		if u.Email != "" && other.Email == u.Email {
			return badRequest("CreateUser", "app.user.save.email_exists.app_error", "email="+u.Email)
		}
	}
	return nil
}

func (s *Server) userLocked(where, userID string) (*model.User, *model.AppError) {
	u, ok := s.users[userID]
	if !ok {
		return nil, notFound(where, missingAccountError, "user_id="+userID)
	}
	return u, nil
}

// GetUser returns the user with this id (404 if there is none).
func (a *API) GetUser(userID string) (*model.User, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	u, appErr := a.s.userLocked("GetUser", userID)
	if appErr != nil {
		return nil, appErr
	}
	return sanitized(u), nil
}

// GetUserByUsername looks a user up by username (case-insensitive, like the store).
func (a *API) GetUserByUsername(name string) (*model.User, *model.AppError) {
	name = model.NormalizeUsername(name)
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	for _, u := range a.s.users {
		if u.Username == name {
			return sanitized(u), nil
		}
	}
	return nil, notFound("GetUserByUsername", "app.user.get_by_username.app_error", "username="+name)
}

// GetUserByEmail looks a user up by email (case-insensitive).
func (a *API) GetUserByEmail(email string) (*model.User, *model.AppError) {
	email = model.NormalizeEmail(email)
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	for _, u := range a.s.users {
		if u.Email == email {
			return sanitized(u), nil
		}
	}
	return nil, notFound("GetUserByEmail", missingAccountError, "email="+email)
}

// GetUsersByIds returns the users that exist among userIDs.
func (a *API) GetUsersByIds(userIDs []string) ([]*model.User, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := []*model.User{}
	for _, id := range userIDs {
		if u, ok := a.s.users[id]; ok {
			out = append(out, sanitized(u))
		}
	}
	return out, nil
}

// GetUsersByUsernames returns the users that exist among usernames.
func (a *API) GetUsersByUsernames(usernames []string) ([]*model.User, *model.AppError) {
	want := map[string]bool{}
	for _, n := range usernames {
		want[model.NormalizeUsername(n)] = true
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := []*model.User{}
	for _, u := range a.s.sortedUsersLocked() {
		if want[u.Username] {
			out = append(out, sanitized(u))
		}
	}
	return out, nil
}

// GetUsers pages through all users ordered by username; Active/Inactive filters apply.
func (a *API) GetUsers(options *model.UserGetOptions) ([]*model.User, *model.AppError) {
	if options == nil {
		options = &model.UserGetOptions{PerPage: 60}
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var matched []*model.User
	for _, u := range a.s.sortedUsersLocked() {
		if options.Active && u.DeleteAt != 0 || options.Inactive && u.DeleteAt == 0 {
			continue
		}
		if options.InTeamId != "" && !a.s.isTeamMemberLocked(options.InTeamId, u.Id) {
			continue
		}
		if options.InChannelId != "" && !a.s.isChannelMemberLocked(options.InChannelId, u.Id) {
			continue
		}
		if options.Role != "" && !strings.Contains(" "+u.Roles+" ", " "+options.Role+" ") {
			continue
		}
		matched = append(matched, sanitized(u))
	}
	return page(matched, options.Page, options.PerPage), nil
}

// GetUsersInTeam pages through the active members of a team.
func (a *API) GetUsersInTeam(teamID string, pageNum, perPage int) ([]*model.User, *model.AppError) {
	return a.GetUsers(&model.UserGetOptions{InTeamId: teamID, Page: pageNum, PerPage: perPage})
}

// GetUsersInChannel pages through the members of a channel ordered by username.
func (a *API) GetUsersInChannel(channelID, _ string, pageNum, perPage int) ([]*model.User, *model.AppError) {
	return a.GetUsers(&model.UserGetOptions{InChannelId: channelID, Page: pageNum, PerPage: perPage})
}

func (s *Server) sortedUsersLocked() []*model.User {
	out := make([]*model.User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// UpdateUser replaces the profile fields of an existing user. Like the app layer it keeps
// the password, the creation time and the auth fields of the stored user.
func (a *API) UpdateUser(user *model.User) (*model.User, *model.AppError) {
	if user == nil {
		return nil, badRequest("UpdateUser", "api.context.invalid_body_param.app_error", "user is nil")
	}
	s := a.s
	s.mu.Lock()
	old, appErr := s.userLocked("UpdateUser", user.Id)
	if appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	u := cloneUser(user)
	u.Password = old.Password
	u.CreateAt = old.CreateAt
	u.AuthData = old.AuthData
	u.AuthService = old.AuthService
	u.LastPasswordUpdate = old.LastPasswordUpdate
	u.Username = model.NormalizeUsername(u.Username)
	u.Email = model.NormalizeEmail(u.Email)
	u.PreUpdate()
	u.UpdateAt = s.nowMillis()
	if appErr := u.IsValid(); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	if appErr := s.checkUserUniqueLocked(u); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	s.users[u.Id] = u
	updated := sanitized(u)
	s.mu.Unlock()
	return updated, nil
}

// UpdateUserActive activates or deactivates a user; deactivation fires UserHasBeenDeactivated.
func (a *API) UpdateUserActive(userID string, active bool) *model.AppError {
	s := a.s
	s.mu.Lock()
	u, appErr := s.userLocked("UpdateUserActive", userID)
	if appErr != nil {
		s.mu.Unlock()
		return appErr
	}
	wasActive := u.DeleteAt == 0
	if active {
		u.DeleteAt = 0
	} else if wasActive {
		u.DeleteAt = s.nowMillis()
	}
	u.UpdateAt = s.nowMillis()
	if bot, ok := s.bots[userID]; ok {
		bot.DeleteAt = u.DeleteAt
	}
	snapshot := sanitized(u)
	s.mu.Unlock()

	if wasActive && !active {
		s.runHookAsync(plugin.UserHasBeenDeactivatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
			hooks.UserHasBeenDeactivated(hookContext(), snapshot)
			return true
		})
	}
	return nil
}

// DeleteUser deactivates the user, which is what the plugin API's DeleteUser does.
func (a *API) DeleteUser(userID string) *model.AppError {
	return a.UpdateUserActive(userID, false)
}

// UpdateUserRoles replaces a user's system roles.
func (a *API) UpdateUserRoles(userID, newRoles string) (*model.User, *model.AppError) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u, appErr := s.userLocked("UpdateUserRoles", userID)
	if appErr != nil {
		return nil, appErr
	}
	u.Roles = newRoles
	u.UpdateAt = s.nowMillis()
	return sanitized(u), nil
}

// page returns one page of items; perPage <= 0 means everything.
func page[T any](items []T, pageNum, perPage int) []T {
	if items == nil {
		items = []T{}
	}
	if perPage <= 0 {
		return items
	}
	start := pageNum * perPage
	if pageNum < 0 || start >= len(items) {
		return []T{}
	}
	end := min(start+perPage, len(items))
	return items[start:end]
}
