package memapi

import (
	"maps"
	"net/http"
	"slices"
	"sort"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// maxPostSize is the server's default post size limit (model.PostMessageMaxRunesV2).
const maxPostSize = model.PostMessageMaxRunesV2

// clonePost copies a post deeply enough that neither the caller nor the store can change the
// other's copy: the props map and the id slices are copied, not shared.
func clonePost(p *model.Post) *model.Post {
	c := p.Clone()
	if props := p.GetProps(); props != nil {
		c.SetProps(maps.Clone(props))
	}
	c.FileIds = slices.Clone(p.FileIds)
	c.Filenames = slices.Clone(p.Filenames)
	return c
}

// forPlugin is what plugins receive: a deep copy without metadata.
func forPlugin(p *model.Post) *model.Post {
	c := clonePost(p)
	c.Metadata = nil
	return c
}

// CreatePost stores a post the way the app layer does: the channel and the author must exist,
// a reply's root must be a root post in the same channel, every active plugin's
// MessageWillBePosted runs first (replace, reject or dismiss), and MessageHasBeenPosted runs
// asynchronously afterwards. Posts created through a plugin's API get the from_plugin prop.
func (a *API) CreatePost(post *model.Post) (*model.Post, *model.AppError) {
	if post == nil {
		return nil, badRequest("CreatePost", "api.context.invalid_body_param.app_error", "post is nil")
	}
	post = clonePost(post)
	if a.pluginID != "" {
		post.AddProp(model.PostPropsFromPlugin, "true")
	}
	return a.s.createPost(post)
}

func (s *Server) createPost(post *model.Post) (*model.Post, *model.AppError) {
	s.mu.RLock()
	channel, appErr := s.channelLocked("CreatePostMissingChannel", post.ChannelId)
	if appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	if channel.DeleteAt != 0 {
		s.mu.RUnlock()
		return nil, badRequest("createPost", "api.post.create_post.can_not_post_to_deleted.error", "channel_id="+channel.Id)
	}
	user, appErr := s.userLocked("CreatePost", post.UserId)
	if appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	isBot := user.IsBot
	if post.RootId != "" {
		root, ok := s.posts[post.RootId]
		if !ok || root.DeleteAt != 0 {
			s.mu.RUnlock()
			return nil, badRequest("createPost", "api.post.create_post.root_id.app_error", "root_id="+post.RootId)
		}
		if root.ChannelId != post.ChannelId {
			s.mu.RUnlock()
			return nil, badRequest("createPost", "api.post.create_post.channel_root_id.app_error", "root_id="+post.RootId)
		}
		if root.RootId != "" {
			s.mu.RUnlock()
			return nil, badRequest("createPost", "api.post.create_post.root_id.app_error", "root_id="+post.RootId)
		}
	}
	s.mu.RUnlock()

	if isBot {
		post.AddProp(model.PostPropsFromBot, "true")
	}
	post.Hashtags, _ = model.ParseHashtags(post.Message)

	metadata := post.Metadata
	var rejection *model.AppError
	s.runHook(plugin.MessageWillBePostedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		replacement, reason := hooks.MessageWillBePosted(hookContext(), forPlugin(post))
		if reason != "" {
			id := "Post rejected by plugin. " + reason
			if reason == plugin.DismissPostError {
				id = plugin.DismissPostError
			}
			rejection = model.NewAppError("createPost", id, nil, "", http.StatusBadRequest)
			return false
		}
		if replacement != nil {
			post = replacement
			if post.Metadata == nil {
				post.Metadata = metadata
			}
		}
		return true
	})
	if rejection != nil {
		return nil, rejection
	}

	s.mu.Lock()
	if post.CreateAt == 0 {
		// Unique, increasing creation times keep "newest first" deterministic for posts made
		// within the same millisecond (a database would order them arbitrarily).
		post.CreateAt = max(s.nowMillis(), s.lastPostAt+1)
		s.lastPostAt = post.CreateAt
	}
	post.PreSave()
	if appErr := post.IsValid(maxPostSize); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	if _, exists := s.posts[post.Id]; exists {
		s.mu.Unlock()
		return nil, badRequest("CreatePost", "app.post.save.existing.app_error", "id="+post.Id)
	}
	stored := clonePost(post)
	s.posts[stored.Id] = stored
	if c, ok := s.channels[stored.ChannelId]; ok {
		c.LastPostAt = max(c.LastPostAt, stored.CreateAt)
		c.TotalMsgCount++
		if stored.RootId == "" {
			c.LastRootPostAt = max(c.LastRootPostAt, stored.CreateAt)
			c.TotalMsgCountRoot++
		}
	}
	if stored.RootId != "" {
		if root, ok := s.posts[stored.RootId]; ok {
			root.ReplyCount++
			root.LastReplyAt = stored.CreateAt
		}
	}
	posted := forPlugin(stored) // copy under the lock: replies update the stored post
	s.mu.Unlock()

	s.runHookAsync(plugin.MessageHasBeenPostedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.MessageHasBeenPosted(hookContext(), forPlugin(posted))
		return true
	})
	return forPlugin(posted), nil
}

// UpdatePost edits a post the way the app layer does: the message, pinned flag, props and
// file ids are taken from the argument; every active plugin's MessageWillBeUpdated runs first
// (a nil post rejects the edit), and MessageHasBeenUpdated runs asynchronously afterwards.
func (a *API) UpdatePost(post *model.Post) (*model.Post, *model.AppError) {
	if post == nil {
		return nil, badRequest("UpdatePost", "api.context.invalid_body_param.app_error", "post is nil")
	}
	s := a.s
	s.mu.RLock()
	old, ok := s.posts[post.Id]
	if !ok {
		s.mu.RUnlock()
		return nil, badRequest("UpdatePost", "api.post.update_post.find.app_error", "id="+post.Id)
	}
	oldPost := clonePost(old)
	var channelDeleted bool
	if c, ok := s.channels[old.ChannelId]; ok {
		channelDeleted = c.DeleteAt != 0
	}
	s.mu.RUnlock()

	switch {
	case oldPost.DeleteAt != 0:
		return nil, badRequest("UpdatePost", "api.post.update_post.permissions_details.app_error", "id="+post.Id)
	case oldPost.IsSystemMessage():
		return nil, badRequest("UpdatePost", "api.post.update_post.system_message.app_error", "id="+post.Id)
	case channelDeleted:
		return nil, badRequest("UpdatePost", "api.post.update_post.can_not_update_post_in_deleted.error", "id="+post.Id)
	}

	now := s.nowMillis()
	newPost := clonePost(oldPost)
	if newPost.Message != post.Message {
		newPost.Message = post.Message
		newPost.EditAt = now
		newPost.Hashtags, _ = model.ParseHashtags(post.Message)
	}
	newPost.IsPinned = post.IsPinned
	newPost.HasReactions = post.HasReactions
	newPost.SetProps(maps.Clone(post.GetProps()))
	newPost.FileIds = slices.Clone(post.FileIds)
	if newPost.EditAt == oldPost.EditAt && !oldPost.FileIds.Equals(newPost.FileIds) {
		newPost.EditAt = now
	}

	var rejectionReason string
	s.runHook(plugin.MessageWillBeUpdatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		newPost, rejectionReason = hooks.MessageWillBeUpdated(hookContext(), forPlugin(newPost), forPlugin(oldPost))
		return newPost != nil
	})
	if newPost == nil {
		return nil, model.NewAppError("UpdatePost", "Post rejected by plugin. "+rejectionReason, nil, "", http.StatusBadRequest)
	}
	newPost.Metadata = oldPost.Metadata
	newPost.UpdateAt = now
	newPost.PreCommit()
	if appErr := newPost.IsValid(maxPostSize); appErr != nil {
		return nil, appErr
	}

	s.mu.Lock()
	s.posts[newPost.Id] = clonePost(newPost)
	s.mu.Unlock()

	pluginNew, pluginOld := forPlugin(newPost), forPlugin(oldPost)
	s.runHookAsync(plugin.MessageHasBeenUpdatedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.MessageHasBeenUpdated(hookContext(), forPlugin(pluginNew), forPlugin(pluginOld))
		return true
	})
	return forPlugin(newPost), nil
}

// DeletePost soft-deletes a post (and, for a root post, its replies);
// MessageHasBeenDeleted runs asynchronously afterwards.
func (a *API) DeletePost(postID string) *model.AppError {
	s := a.s
	s.mu.Lock()
	p, ok := s.posts[postID]
	if !ok || p.DeleteAt != 0 {
		s.mu.Unlock()
		return notFound("DeletePost", "app.post.get.app_error", "id="+postID)
	}
	now := s.nowMillis()
	p.DeleteAt, p.UpdateAt = now, now
	if p.RootId == "" {
		for _, reply := range s.posts {
			if reply.RootId == postID && reply.DeleteAt == 0 {
				reply.DeleteAt, reply.UpdateAt = now, now
			}
		}
	} else if root, ok := s.posts[p.RootId]; ok && root.ReplyCount > 0 {
		root.ReplyCount--
	}
	deleted := forPlugin(p)
	s.mu.Unlock()

	s.runHookAsync(plugin.MessageHasBeenDeletedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.MessageHasBeenDeleted(hookContext(), forPlugin(deleted))
		return true
	})
	return nil
}

// GetPost returns a post that has not been deleted. Like the app layer's read path, it goes
// through MessagesWillBeConsumed.
func (a *API) GetPost(postID string) (*model.Post, *model.AppError) {
	a.s.mu.RLock()
	p, ok := a.s.posts[postID]
	if !ok || p.DeleteAt != 0 {
		a.s.mu.RUnlock()
		return nil, notFound("GetSinglePost", "app.post.get.app_error", "id="+postID)
	}
	out := forPlugin(p)
	a.s.mu.RUnlock()
	list := a.s.consume([]*model.Post{out})
	return list[0], nil
}

// GetPostThread returns a root post and its replies, newest first.
func (a *API) GetPostThread(postID string) (*model.PostList, *model.AppError) {
	a.s.mu.RLock()
	p, ok := a.s.posts[postID]
	if !ok || p.DeleteAt != 0 {
		a.s.mu.RUnlock()
		return nil, notFound("GetPostThread", "app.post.get.app_error", "id="+postID)
	}
	rootID := p.Id
	if p.RootId != "" {
		rootID = p.RootId
	}
	posts := a.s.postsLocked(func(q *model.Post) bool { return q.Id == rootID || q.RootId == rootID })
	a.s.mu.RUnlock()
	return a.s.postList(posts), nil
}

// GetPostsForChannel pages through a channel's posts, newest first.
func (a *API) GetPostsForChannel(channelID string, pageNum, perPage int) (*model.PostList, *model.AppError) {
	a.s.mu.RLock()
	if _, appErr := a.s.channelLocked("GetPostsForChannel", channelID); appErr != nil {
		a.s.mu.RUnlock()
		return nil, appErr
	}
	posts := a.s.postsLocked(func(q *model.Post) bool { return q.ChannelId == channelID })
	a.s.mu.RUnlock()
	return a.s.postList(page(posts, pageNum, perPage)), nil
}

// GetPostsSince returns a channel's posts created or changed after time (milliseconds).
func (a *API) GetPostsSince(channelID string, time int64) (*model.PostList, *model.AppError) {
	a.s.mu.RLock()
	if _, appErr := a.s.channelLocked("GetPostsSince", channelID); appErr != nil {
		a.s.mu.RUnlock()
		return nil, appErr
	}
	posts := a.s.postsLocked(func(q *model.Post) bool { return q.ChannelId == channelID && q.UpdateAt > time })
	a.s.mu.RUnlock()
	return a.s.postList(posts), nil
}

// GetPostsBefore pages through the channel's posts older than postID, newest first.
func (a *API) GetPostsBefore(channelID, postID string, pageNum, perPage int) (*model.PostList, *model.AppError) {
	return a.postsAround("GetPostsBefore", channelID, postID, pageNum, perPage, true)
}

// GetPostsAfter pages through the channel's posts newer than postID, newest first.
func (a *API) GetPostsAfter(channelID, postID string, pageNum, perPage int) (*model.PostList, *model.AppError) {
	return a.postsAround("GetPostsAfter", channelID, postID, pageNum, perPage, false)
}

func (a *API) postsAround(where, channelID, postID string, pageNum, perPage int, before bool) (*model.PostList, *model.AppError) {
	a.s.mu.RLock()
	pivot, ok := a.s.posts[postID]
	if !ok || pivot.ChannelId != channelID {
		a.s.mu.RUnlock()
		return nil, notFound(where, "app.post.get.app_error", "id="+postID)
	}
	pivotAt := pivot.CreateAt
	posts := a.s.postsLocked(func(q *model.Post) bool {
		if q.ChannelId != channelID {
			return false
		}
		if before {
			return q.CreateAt < pivotAt
		}
		return q.CreateAt > pivotAt
	})
	a.s.mu.RUnlock()
	if !before {
		// Paging after the pivot counts from the oldest post.
		slices.Reverse(posts)
		posts = page(posts, pageNum, perPage)
		slices.Reverse(posts)
		return a.s.postList(posts), nil
	}
	return a.s.postList(page(posts, pageNum, perPage)), nil
}

// postsLocked returns plugin copies of the non-deleted posts that match, newest first.
func (s *Server) postsLocked(keep func(*model.Post) bool) []*model.Post {
	var out []*model.Post
	for _, p := range s.posts {
		if p.DeleteAt == 0 && keep(p) {
			out = append(out, forPlugin(p))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateAt != out[j].CreateAt {
			return out[i].CreateAt > out[j].CreateAt
		}
		return out[i].Id > out[j].Id
	})
	return out
}

// postList builds a PostList (order newest first) after MessagesWillBeConsumed.
func (s *Server) postList(posts []*model.Post) *model.PostList {
	posts = s.consume(posts)
	list := model.NewPostList()
	for _, p := range posts {
		list.AddPost(p)
		list.AddOrder(p.Id)
	}
	return list
}

// consume runs MessagesWillBeConsumed over posts about to be returned, as the app layer's
// read path does; a plugin's returned posts replace the originals with the same id.
func (s *Server) consume(posts []*model.Post) []*model.Post {
	if len(posts) == 0 {
		return posts
	}
	byID := make(map[string]int, len(posts))
	for i, p := range posts {
		byID[p.Id] = i
	}
	replace := func(replacements []*model.Post) {
		for _, r := range replacements {
			if r == nil {
				continue
			}
			if i, ok := byID[r.Id]; ok {
				posts[i] = r
			}
		}
	}
	s.runHook(plugin.MessagesWillBeConsumedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		replace(hooks.MessagesWillBeConsumed(clonePosts(posts)))
		return true
	})
	s.runHook(plugin.MessagesWillBeConsumedWithContextID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		replace(hooks.MessagesWillBeConsumedWithContext(hookContext(), clonePosts(posts)))
		return true
	})
	return posts
}

func clonePosts(posts []*model.Post) []*model.Post {
	out := make([]*model.Post, len(posts))
	for i, p := range posts {
		out[i] = clonePost(p)
	}
	return out
}

func cloneReaction(r *model.Reaction) *model.Reaction {
	c := *r
	return &c
}

// AddReaction stores a reaction on an existing post; ReactionHasBeenAdded fires afterwards.
func (a *API) AddReaction(reaction *model.Reaction) (*model.Reaction, *model.AppError) {
	if reaction == nil {
		return nil, badRequest("AddReaction", "api.context.invalid_body_param.app_error", "reaction is nil")
	}
	r := cloneReaction(reaction)
	s := a.s
	s.mu.Lock()
	p, ok := s.posts[r.PostId]
	if !ok || p.DeleteAt != 0 {
		s.mu.Unlock()
		return nil, notFound("SaveReactionForPost", "app.post.get.app_error", "post_id="+r.PostId)
	}
	if _, appErr := s.userLocked("SaveReactionForPost", r.UserId); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	r.ChannelId = p.ChannelId
	r.PreSave()
	if appErr := r.IsValid(); appErr != nil {
		s.mu.Unlock()
		return nil, appErr
	}
	for _, existing := range s.reactions[r.PostId] {
		if existing.UserId == r.UserId && existing.EmojiName == r.EmojiName {
			s.mu.Unlock()
			return cloneReaction(existing), nil
		}
	}
	s.reactions[r.PostId] = append(s.reactions[r.PostId], r)
	p.HasReactions = true
	added := cloneReaction(r)
	s.mu.Unlock()

	s.runHookAsync(plugin.ReactionHasBeenAddedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.ReactionHasBeenAdded(hookContext(), cloneReaction(added))
		return true
	})
	return cloneReaction(added), nil
}

// RemoveReaction deletes a reaction; ReactionHasBeenRemoved fires afterwards.
func (a *API) RemoveReaction(reaction *model.Reaction) *model.AppError {
	if reaction == nil {
		return badRequest("RemoveReaction", "api.context.invalid_body_param.app_error", "reaction is nil")
	}
	s := a.s
	s.mu.Lock()
	list := s.reactions[reaction.PostId]
	idx := slices.IndexFunc(list, func(r *model.Reaction) bool {
		return r.UserId == reaction.UserId && r.EmojiName == reaction.EmojiName
	})
	if idx < 0 {
		s.mu.Unlock()
		return notFound("DeleteReactionForPost", "app.reaction.delete_all_with_emoji_name.get_reactions.app_error", "post_id="+reaction.PostId)
	}
	removed := cloneReaction(list[idx])
	removed.DeleteAt = s.nowMillis()
	s.reactions[reaction.PostId] = slices.Delete(list, idx, idx+1)
	if p, ok := s.posts[reaction.PostId]; ok {
		p.HasReactions = len(s.reactions[reaction.PostId]) > 0
	}
	s.mu.Unlock()

	s.runHookAsync(plugin.ReactionHasBeenRemovedID, func(hooks plugin.Hooks, _ *model.Manifest) bool {
		hooks.ReactionHasBeenRemoved(hookContext(), cloneReaction(removed))
		return true
	})
	return nil
}

// GetReactions returns the reactions on a post, oldest first.
func (a *API) GetReactions(postID string) ([]*model.Reaction, *model.AppError) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := []*model.Reaction{}
	for _, r := range a.s.reactions[postID] {
		out = append(out, cloneReaction(r))
	}
	return out, nil
}

// EphemeralPost is one ephemeral-post call a plugin made.
type EphemeralPost struct {
	// Action is "send", "update" or "delete".
	Action string
	UserID string
	// Post is the post as sent (for "delete", only its Id is set).
	Post *model.Post
}

// SendEphemeralPost records an ephemeral post for a user and returns it with the fields the
// app layer fills in (id, type, create time).
func (a *API) SendEphemeralPost(userID string, post *model.Post) *model.Post {
	p := a.s.ephemeralPost(post)
	a.s.recordEphemeral("send", userID, p)
	return forPlugin(p)
}

// UpdateEphemeralPost records an update of an ephemeral post.
func (a *API) UpdateEphemeralPost(userID string, post *model.Post) *model.Post {
	p := a.s.ephemeralPost(post)
	p.UpdateAt = a.s.nowMillis()
	a.s.recordEphemeral("update", userID, p)
	return forPlugin(p)
}

// DeleteEphemeralPost records the deletion of an ephemeral post.
func (a *API) DeleteEphemeralPost(userID, postID string) {
	a.s.recordEphemeral("delete", userID, &model.Post{Id: postID})
}

func (s *Server) ephemeralPost(post *model.Post) *model.Post {
	if post == nil {
		post = &model.Post{}
	}
	p := clonePost(post)
	p.Type = model.PostTypeEphemeral
	if p.Id == "" {
		p.Id = model.NewId()
	}
	if p.CreateAt == 0 {
		p.CreateAt = s.nowMillis()
	}
	if p.GetProps() == nil {
		p.SetProps(model.StringInterface{})
	}
	return p
}

func (s *Server) recordEphemeral(action, userID string, p *model.Post) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ephemeral = append(s.ephemeral, EphemeralPost{Action: action, UserID: userID, Post: clonePost(p)})
}

// EphemeralPosts returns every ephemeral-post call so far, in order.
func (s *Server) EphemeralPosts() []EphemeralPost {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]EphemeralPost, len(s.ephemeral))
	for i, e := range s.ephemeral {
		out[i] = EphemeralPost{Action: e.Action, UserID: e.UserID, Post: clonePost(e.Post)}
	}
	return out
}
