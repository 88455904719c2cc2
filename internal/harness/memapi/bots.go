package memapi

import (
	"errors"
	"fmt"
	"sort"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func cloneBot(b *model.Bot) *model.Bot { return b.Clone() }

// CreateBot creates a bot and its user, like the app layer. A plugin's bots are owned by the
// plugin unless OwnerId says otherwise; a bot cannot own a bot.
func (a *API) CreateBot(bot *model.Bot) (*model.Bot, *model.AppError) {
	if bot == nil {
		return nil, badRequest("CreateBot", "api.context.invalid_body_param.app_error", "bot is nil")
	}
	b := cloneBot(bot)
	if b.OwnerId == "" {
		b.OwnerId = a.pluginID
	}
	a.s.mu.RLock()
	owner, ownerIsUser := a.s.users[b.OwnerId]
	a.s.mu.RUnlock()
	if ownerIsUser && owner.IsBot {
		return nil, badRequest("CreateBot", "plugin_api.bot_cant_create_bot", "owner_id="+b.OwnerId)
	}
	return a.s.createBot(b)
}

func (s *Server) createBot(b *model.Bot) (*model.Bot, *model.AppError) {
	if appErr := b.IsValidCreate(); appErr != nil {
		return nil, appErr
	}
	user := model.UserFromBot(b)
	user.IsBot = true
	user.BotDescription = b.Description
	if appErr := user.PreSave(plainHasher{}); appErr != nil {
		return nil, appErr
	}
	b.UserId = user.Id
	b.Username = user.Username
	b.PreSave()
	if appErr := b.IsValid(); appErr != nil {
		return nil, appErr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if appErr := s.checkUserUniqueLocked(user); appErr != nil {
		appErr.Where = "CreateBot"
		return nil, appErr
	}
	s.users[user.Id] = user
	s.bots[b.UserId] = b
	return cloneBot(b), nil
}

func (s *Server) botLocked(where, botUserID string, includeDeleted bool) (*model.Bot, *model.AppError) {
	b, ok := s.bots[botUserID]
	if !ok || (!includeDeleted && b.DeleteAt != 0) {
		return nil, model.MakeBotNotFoundError(where, botUserID)
	}
	return b, nil
}

// GetBot returns a bot by its user id.
func (a *API) GetBot(botUserID string, includeDeleted bool) (*model.Bot, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	b, appErr := a.s.botLocked("SqlBotStore.Get", botUserID, includeDeleted)
	if appErr != nil {
		return nil, appErr
	}
	return cloneBot(b), nil
}

// GetBots pages through bots, ordered by username, filtered by owner and deletion state.
func (a *API) GetBots(options *model.BotGetOptions) ([]*model.Bot, *model.AppError) {
	if options == nil {
		options = &model.BotGetOptions{PerPage: 200}
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	var out []*model.Bot
	for _, b := range a.s.bots {
		if options.OwnerId != "" && b.OwnerId != options.OwnerId {
			continue
		}
		if !options.IncludeDeleted && b.DeleteAt != 0 {
			continue
		}
		if options.OnlyOrphaned {
			if owner, ok := a.s.users[b.OwnerId]; ok && owner.DeleteAt == 0 {
				continue
			}
		}
		out = append(out, cloneBot(b))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return page(out, options.Page, options.PerPage), nil
}

// PatchBot applies a patch to a bot and its user.
func (a *API) PatchBot(botUserID string, botPatch *model.BotPatch) (*model.Bot, *model.AppError) {
	return a.s.patchBot(botUserID, botPatch)
}

func (s *Server) patchBot(botUserID string, botPatch *model.BotPatch) (*model.Bot, *model.AppError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, appErr := s.botLocked("PatchBot", botUserID, true)
	if appErr != nil {
		return nil, appErr
	}
	if !b.WouldPatch(botPatch) {
		return cloneBot(b), nil
	}
	patched := cloneBot(b)
	patched.Patch(botPatch)
	patched.Username = model.NormalizeUsername(patched.Username)
	if appErr := patched.IsValid(); appErr != nil {
		return nil, appErr
	}
	user, appErr := s.userLocked("PatchBot", botUserID)
	if appErr != nil {
		return nil, appErr
	}
	fromBot := model.UserFromBot(patched)
	updated := cloneUser(user)
	updated.Username, updated.Email, updated.FirstName = fromBot.Username, fromBot.Email, fromBot.FirstName
	updated.BotDescription = patched.Description
	if appErr := s.checkUserUniqueLocked(updated); appErr != nil {
		appErr.Where = "PatchBot"
		return nil, appErr
	}
	patched.PreUpdate()
	updated.UpdateAt = patched.UpdateAt
	s.users[botUserID] = updated
	s.bots[botUserID] = patched
	return cloneBot(patched), nil
}

// UpdateBotActive enables or disables a bot (and its user).
func (a *API) UpdateBotActive(botUserID string, active bool) (*model.Bot, *model.AppError) {
	s := a.s
	s.mu.Lock()
	b, appErr := s.botLocked("UpdateBotActive", botUserID, true)
	if appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	s.mu.Unlock()
	if appErr := a.UpdateUserActive(botUserID, active); appErr != nil {
		return nil, appErr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return cloneBot(b), nil
}

// PermanentDeleteBot removes a bot and its user.
func (a *API) PermanentDeleteBot(botUserID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, appErr := s.botLocked("PermanentDeleteBot", botUserID, true); appErr != nil {
		return appErr
	}
	delete(s.bots, botUserID)
	delete(s.users, botUserID)
	return nil
}

// EnsureBotUser returns the plugin's bot, creating it on first use, like the app layer's
// EnsureBot: the bot id is remembered in the plugin's KV under plugin.BotUserKey; an existing
// bot is patched to match; an existing bot user with the same username is adopted.
func (a *API) EnsureBotUser(bot *model.Bot) (string, error) {
	if bot == nil {
		return "", errors.New("passed a nil bot")
	}
	if bot.Username == "" {
		return "", errors.New("passed a bot with no username")
	}
	if appErr := a.requirePlugin("EnsureBotUser"); appErr != nil {
		return "", appErr
	}
	b := cloneBot(bot)
	b.OwnerId = a.pluginID

	botID, appErr := a.KVGet(plugin.BotUserKey)
	if appErr != nil {
		return "", appErr
	}
	if botID != nil {
		if _, appErr := a.GetBot(string(botID), true); appErr == nil {
			patch := &model.BotPatch{Username: &b.Username, DisplayName: &b.DisplayName, Description: &b.Description}
			if _, appErr := a.s.patchBot(string(botID), patch); appErr != nil {
				return "", fmt.Errorf("failed to patch bot: %w", appErr)
			}
			return string(botID), nil
		}
	}

	if user, appErr := a.GetUserByUsername(b.Username); appErr == nil {
		if user.IsBot {
			if appErr := a.KVSet(plugin.BotUserKey, []byte(user.Id)); appErr != nil {
				return "", fmt.Errorf("failed to set plugin key: %w", appErr)
			}
		} else {
			a.s.logger.Error("Plugin attempted to use an account that already exists. Convert user to a bot account "+
				"in the CLI by running 'mattermost user convert <username> --bot'.",
				logField("plugin_id", a.pluginID), logField("username", b.Username), logField("user_id", user.Id))
		}
		return user.Id, nil
	}

	created, appErr := a.s.createBot(b)
	if appErr != nil {
		return "", fmt.Errorf("failed to create bot: %w", appErr)
	}
	if appErr := a.KVSet(plugin.BotUserKey, []byte(created.UserId)); appErr != nil {
		return "", fmt.Errorf("failed to set plugin key: %w", appErr)
	}
	return created.UserId, nil
}
