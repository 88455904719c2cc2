package memapi

import (
	"maps"
	"net/http"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func cloneChannel(c *model.Channel) *model.Channel { return c.DeepCopy() }

func cloneChannelMember(m *model.ChannelMember) *model.ChannelMember {
	c := *m
	c.NotifyProps = maps.Clone(m.NotifyProps)
	return &c
}

// CreateChannel validates and stores an open or private channel; ChannelHasBeenCreated fires
// afterwards. Like the plugin API, the creator is not added as a member.
func (a *API) CreateChannel(channel *model.Channel) (*model.Channel, *model.AppError) {
	if channel == nil {
		return nil, badRequest("CreateChannel", "api.context.invalid_body_param.app_error", "channel is nil")
	}
	if channel.Type == model.ChannelTypeDirect || channel.Type == model.ChannelTypeGroup {
		return nil, badRequest("CreateChannel", "store.sql_channel.save.direct_channel.app_error", "use GetDirectChannel or GetGroupChannel")
	}
	c := cloneChannel(channel)
	c.PreSave()
	if appErr := c.IsValid(); appErr != nil {
		return nil, appErr
	}
	s := a.s
	s.mu.Lock()
	if _, appErr := s.teamLocked("CreateChannel", c.TeamId); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	if s.channelByNameLocked(c.TeamId, c.Name, true) != nil {
		s.mu.Unlock()
		return nil, badRequest("CreateChannel", "store.sql_channel.save_channel.exists.app_error", "name="+c.Name)
	}
	s.channels[c.Id] = c
	created := cloneChannel(c) // copy under the lock: posts update the stored channel
	s.mu.Unlock()

	s.runHookAsync(plugin.ChannelHasBeenCreatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.ChannelHasBeenCreated(hookContext(), cloneChannel(created))
		return true
	})
	return cloneChannel(created), nil
}

func (s *Server) channelLocked(where, channelID string) (*model.Channel, *model.AppError) {
	c, ok := s.channels[channelID]
	if !ok {
		return nil, notFound(where, "app.channel.get.existing.app_error", "channel_id="+channelID)
	}
	return c, nil
}

func (s *Server) channelByNameLocked(teamID, name string, includeDeleted bool) *model.Channel {
	for _, c := range s.channels {
		if c.TeamId == teamID && c.Name == name && (includeDeleted || c.DeleteAt == 0) {
			return c
		}
	}
	return nil
}

// GetChannel returns the channel with this id (archived ones included, like the app layer).
func (a *API) GetChannel(channelID string) (*model.Channel, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	c, appErr := a.s.channelLocked("GetChannel", channelID)
	if appErr != nil {
		return nil, appErr
	}
	return cloneChannel(c), nil
}

// GetChannelByName returns the channel with this name in the team.
func (a *API) GetChannelByName(teamID, name string, includeDeleted bool) (*model.Channel, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if c := a.s.channelByNameLocked(teamID, name, includeDeleted); c != nil {
		return cloneChannel(c), nil
	}
	return nil, notFound("GetChannelByName", "app.channel.get_by_name.missing.app_error", "team_id="+teamID+" name="+name)
}

// GetChannelByNameForTeamName is GetChannelByName with the team given by name.
func (a *API) GetChannelByNameForTeamName(teamName, channelName string, includeDeleted bool) (*model.Channel, *model.AppError) {
	a.s.mu.RLock()
	t := a.s.teamByNameLocked(teamName)
	a.s.mu.RUnlock()
	if t == nil {
		return nil, notFound("GetChannelByNameForTeamName", "app.team.get_by_name.missing.app_error", "name="+teamName)
	}
	return a.GetChannelByName(t.Id, channelName, includeDeleted)
}

// GetPublicChannelsForTeam pages through a team's open channels, ordered by name.
func (a *API) GetPublicChannelsForTeam(teamID string, pageNum, perPage int) ([]*model.Channel, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	return page(a.s.sortedChannelsLocked(func(c *model.Channel) bool {
		return c.TeamId == teamID && c.Type == model.ChannelTypeOpen && c.DeleteAt == 0
	}), pageNum, perPage), nil
}

// GetChannelsForTeamForUser returns the channels of a team (plus direct and group channels)
// the user is a member of.
func (a *API) GetChannelsForTeamForUser(teamID, userID string, includeDeleted bool) ([]*model.Channel, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := a.s.sortedChannelsLocked(func(c *model.Channel) bool {
		return (c.TeamId == teamID || c.TeamId == "") && (includeDeleted || c.DeleteAt == 0) && a.s.isChannelMemberLocked(c.Id, userID)
	})
	if len(out) == 0 {
		return nil, notFound("GetChannelsForTeamForUser", "app.channel.get_channels.not_found.app_error", "team_id="+teamID+" user_id="+userID)
	}
	return out, nil
}

// SearchChannels returns the team's open channels whose name or display name contains term.
func (a *API) SearchChannels(teamID, term string) ([]*model.Channel, *model.AppError) {
	term = strings.ToLower(term)
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	return a.s.sortedChannelsLocked(func(c *model.Channel) bool {
		return c.TeamId == teamID && c.Type == model.ChannelTypeOpen && c.DeleteAt == 0 &&
			(strings.Contains(c.Name, term) || strings.Contains(strings.ToLower(c.DisplayName), term))
	}), nil
}

func (s *Server) sortedChannelsLocked(keep func(*model.Channel) bool) []*model.Channel {
	out := []*model.Channel{}
	for _, c := range s.channels {
		if keep(c) {
			out = append(out, cloneChannel(c))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UpdateChannel replaces the editable fields of an existing channel.
func (a *API) UpdateChannel(channel *model.Channel) (*model.Channel, *model.AppError) {
	if channel == nil {
		return nil, badRequest("UpdateChannel", "api.context.invalid_body_param.app_error", "channel is nil")
	}
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old, appErr := s.channelLocked("UpdateChannel", channel.Id)
	if appErr != nil {
		return nil, appErr
	}
	if old.DeleteAt != 0 {
		return nil, badRequest("UpdateChannel", "api.channel.update_channel.deleted.app_error", "channel_id="+channel.Id)
	}
	c := cloneChannel(old)
	c.DisplayName = channel.DisplayName
	c.Name = channel.Name
	c.Header = channel.Header
	c.Purpose = channel.Purpose
	c.Type = channel.Type
	c.GroupConstrained = channel.GroupConstrained
	c.PreUpdate()
	c.UpdateAt = s.nowMillis()
	if appErr := c.IsValid(); appErr != nil {
		return nil, appErr
	}
	if other := s.channelByNameLocked(c.TeamId, c.Name, true); other != nil && other.Id != c.Id {
		return nil, badRequest("UpdateChannel", "store.sql_channel.update.exists.app_error", "name="+c.Name)
	}
	s.channels[c.Id] = c
	return cloneChannel(c), nil
}

// DeleteChannel archives a channel. ChannelWillBeArchived may reject it.
func (a *API) DeleteChannel(channelID string) *model.AppError {
	s := a.s
	s.mu.RLock()
	c, appErr := s.channelLocked("DeleteChannel", channelID)
	if appErr != nil {
		s.mu.RUnlock()
		return appErr
	}
	if c.Type == model.ChannelTypeDirect || c.Type == model.ChannelTypeGroup {
		s.mu.RUnlock()
		return badRequest("DeleteChannel", "api.channel.delete_channel.type.invalid", "channel_id="+channelID)
	}
	if c.DeleteAt != 0 {
		s.mu.RUnlock()
		return badRequest("DeleteChannel", "api.channel.delete_channel.deleted.app_error", "channel_id="+channelID)
	}
	snapshot := cloneChannel(c)
	s.mu.RUnlock()

	var rejection string
	s.runHook(plugin.ChannelWillBeArchivedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		if reason := hooks.ChannelWillBeArchived(hookContext(), cloneChannel(snapshot)); reason != "" {
			rejection = reason
			return false
		}
		return true
	})
	if rejection != "" {
		return model.NewAppError("DeleteChannel", "Channel archive rejected by plugin. "+rejection, nil, "", http.StatusBadRequest)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok {
		c.DeleteAt = s.nowMillis()
		c.UpdateAt = c.DeleteAt
	}
	return nil
}

// RestoreChannel un-archives a channel.
func (a *API) RestoreChannel(channelID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, appErr := s.channelLocked("RestoreChannel", channelID)
	if appErr != nil {
		return appErr
	}
	c.DeleteAt = 0
	c.UpdateAt = s.nowMillis()
	return nil
}

// GetDirectChannel returns the direct channel between two users, creating it (with both
// memberships) the first time, like the app layer's GetOrCreateDirectChannel.
func (a *API) GetDirectChannel(userID1, userID2 string) (*model.Channel, *model.AppError) {
	s := a.s
	s.mu.Lock()
	for _, id := range []string{userID1, userID2} {
		if _, appErr := s.userLocked("GetDirectChannel", id); appErr != nil {
			s.mu.Unlock()
			return nil, appErr
		}
	}
	name := model.GetDMNameFromIds(userID1, userID2)
	if c := s.channelByNameLocked("", name, true); c != nil {
		s.mu.Unlock()
		return cloneChannel(c), nil
	}
	c := &model.Channel{Name: name, Type: model.ChannelTypeDirect, CreatorId: userID1}
	c.PreSave()
	if appErr := c.IsValid(); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	s.channels[c.Id] = c
	for _, id := range []string{userID1, userID2} {
		s.putChannelMemberLocked(&model.ChannelMember{
			ChannelId: c.Id, UserId: id, Roles: model.ChannelUserRoleId, SchemeUser: true,
			NotifyProps: model.GetDefaultChannelNotifyProps(),
		})
	}
	created := cloneChannel(c)
	s.mu.Unlock()

	s.runHookAsync(plugin.ChannelHasBeenCreatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.ChannelHasBeenCreated(hookContext(), cloneChannel(created))
		return true
	})
	return cloneChannel(created), nil
}

// GetChannelStats counts a channel's members.
func (a *API) GetChannelStats(channelID string) (*model.ChannelStats, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if _, appErr := a.s.channelLocked("GetChannelStats", channelID); appErr != nil {
		return nil, appErr
	}
	var n int64
	for _, m := range a.s.channelMembers[channelID] {
		if u, ok := a.s.users[m.UserId]; ok && u.DeleteAt == 0 {
			n++
		}
	}
	return &model.ChannelStats{ChannelId: channelID, MemberCount: n}, nil
}

func (s *Server) isChannelMemberLocked(channelID, userID string) bool {
	_, ok := s.channelMembers[channelID][userID]
	return ok
}

func (s *Server) putChannelMemberLocked(m *model.ChannelMember) {
	if s.channelMembers[m.ChannelId] == nil {
		s.channelMembers[m.ChannelId] = map[string]*model.ChannelMember{}
	}
	m.PreSave()
	s.channelMembers[m.ChannelId][m.UserId] = m
}

// AddChannelMember adds a user to a channel as themselves.
func (a *API) AddChannelMember(channelID, userID string) (*model.ChannelMember, *model.AppError) {
	return a.addChannelMember("AddChannelMember", channelID, userID, "")
}

// AddUserToChannel adds a user to a channel on behalf of asUserID (the actor).
func (a *API) AddUserToChannel(channelID, userID, asUserID string) (*model.ChannelMember, *model.AppError) {
	return a.addChannelMember("AddUserToChannel", channelID, userID, asUserID)
}

// addChannelMember follows the app layer: the user must exist and, for team channels, be a
// member of the team; ChannelMemberWillBeAdded may replace or reject the member;
// UserHasJoinedChannel fires afterwards with the actor (nil for a self-join).
func (a *API) addChannelMember(where, channelID, userID, actorID string) (*model.ChannelMember, *model.AppError) {
	s := a.s
	s.mu.RLock()
	c, appErr := s.channelLocked(where, channelID)
	if appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	if c.DeleteAt != 0 {
		s.mu.RUnlock()
		return nil, badRequest(where, "api.channel.add_user.to.channel.failed.deleted.app_error", "channel_id="+channelID)
	}
	if c.Type == model.ChannelTypeDirect || c.Type == model.ChannelTypeGroup {
		s.mu.RUnlock()
		return nil, badRequest(where, "api.channel.add_user_to_channel.type.app_error", "channel_id="+channelID)
	}
	user, appErr := s.userLocked(where, userID)
	if appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	if !s.isTeamMemberLocked(c.TeamId, userID) {
		s.mu.RUnlock()
		return nil, forbidden(where, "api.channel.add_user.to.channel.failed.app_error", "user is not a member of team "+c.TeamId)
	}
	if existing, ok := s.channelMembers[channelID][userID]; ok {
		s.mu.RUnlock()
		return cloneChannelMember(existing), nil
	}
	var actor *model.User
	if u, ok := s.users[actorID]; ok && actorID != userID {
		actor = sanitized(u)
	}
	guest := user.IsGuest()
	s.mu.RUnlock()

	roles := model.ChannelUserRoleId
	if guest {
		roles = model.ChannelGuestRoleId
	}
	member := &model.ChannelMember{
		ChannelId: channelID, UserId: userID, Roles: roles,
		SchemeUser: !guest, SchemeGuest: guest,
		NotifyProps: model.GetDefaultChannelNotifyProps(),
	}
	var rejection string
	s.runHook(plugin.ChannelMemberWillBeAddedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		replacement, reason := hooks.ChannelMemberWillBeAdded(hookContext(), cloneChannelMember(member))
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
		return nil, model.NewAppError(where, "Channel member rejected by plugin. "+rejection, nil, "", http.StatusBadRequest)
	}
	member.ChannelId, member.UserId = channelID, userID
	if member.NotifyProps == nil {
		member.NotifyProps = model.GetDefaultChannelNotifyProps()
	}
	if appErr := member.IsValid(); appErr != nil {
		return nil, appErr
	}

	s.mu.Lock()
	s.putChannelMemberLocked(cloneChannelMember(member))
	s.mu.Unlock()

	joined := cloneChannelMember(member)
	s.runHookAsync(plugin.UserHasJoinedChannelID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.UserHasJoinedChannel(hookContext(), cloneChannelMember(joined), actor)
		return true
	})
	return cloneChannelMember(member), nil
}

// GetChannelMember returns one membership.
func (a *API) GetChannelMember(channelID, userID string) (*model.ChannelMember, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if m, ok := a.s.channelMembers[channelID][userID]; ok {
		return cloneChannelMember(m), nil
	}
	return nil, notFound("GetChannelMember", "app.channel.get_member.missing.app_error", "channel_id="+channelID+" user_id="+userID)
}

// GetChannelMembers pages through a channel's members, ordered by user id.
func (a *API) GetChannelMembers(channelID string, pageNum, perPage int) (model.ChannelMembers, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var all []model.ChannelMember
	for _, m := range a.s.channelMembers[channelID] {
		all = append(all, *cloneChannelMember(m))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].UserId < all[j].UserId })
	return model.ChannelMembers(page(all, pageNum, perPage)), nil
}

// GetChannelMembersByIds returns the memberships of the given users in a channel.
func (a *API) GetChannelMembersByIds(channelID string, userIDs []string) (model.ChannelMembers, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := model.ChannelMembers{}
	for _, id := range userIDs {
		if m, ok := a.s.channelMembers[channelID][id]; ok {
			out = append(out, *cloneChannelMember(m))
		}
	}
	return out, nil
}

// GetChannelMembersForUser pages through a user's memberships in a team's channels.
func (a *API) GetChannelMembersForUser(teamID, userID string, pageNum, perPage int) ([]*model.ChannelMember, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var out []*model.ChannelMember
	for channelID, members := range a.s.channelMembers {
		c := a.s.channels[channelID]
		if c == nil || (c.TeamId != teamID && c.TeamId != "") {
			continue
		}
		if m, ok := members[userID]; ok {
			out = append(out, cloneChannelMember(m))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ChannelId < out[j].ChannelId })
	return page(out, pageNum, perPage), nil
}

// UpdateChannelMemberRoles replaces a member's explicit roles.
func (a *API) UpdateChannelMemberRoles(channelID, userID, newRoles string) (*model.ChannelMember, *model.AppError) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	m, ok := a.s.channelMembers[channelID][userID]
	if !ok {
		return nil, notFound("UpdateChannelMemberRoles", "app.channel.get_member.missing.app_error", "channel_id="+channelID+" user_id="+userID)
	}
	m.ExplicitRoles = newRoles
	m.PreUpdate()
	return cloneChannelMember(m), nil
}

// UpdateChannelMemberNotifications merges notification props into a membership.
func (a *API) UpdateChannelMemberNotifications(channelID, userID string, notifications map[string]string) (*model.ChannelMember, *model.AppError) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	m, ok := a.s.channelMembers[channelID][userID]
	if !ok {
		return nil, notFound("UpdateChannelMemberNotifications", "app.channel.get_member.missing.app_error", "channel_id="+channelID+" user_id="+userID)
	}
	updated := cloneChannelMember(m)
	maps.Copy(updated.NotifyProps, notifications)
	if appErr := updated.IsValid(); appErr != nil {
		return nil, appErr
	}
	updated.PreUpdate()
	a.s.channelMembers[channelID][userID] = updated
	return cloneChannelMember(updated), nil
}

// DeleteChannelMember removes a user from a channel; UserHasLeftChannel fires afterwards.
func (a *API) DeleteChannelMember(channelID, userID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	m, ok := s.channelMembers[channelID][userID]
	if !ok {
		s.mu.Unlock()
		return notFound("DeleteChannelMember", "app.channel.get_member.missing.app_error", "channel_id="+channelID+" user_id="+userID)
	}
	delete(s.channelMembers[channelID], userID)
	left := cloneChannelMember(m)
	s.mu.Unlock()

	s.runHookAsync(plugin.UserHasLeftChannelID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.UserHasLeftChannel(hookContext(), cloneChannelMember(left), nil)
		return true
	})
	return nil
}
