"""Content security: text a member writes that others see is checked with WeChat before it is kept,
texts WeChat wants a person to look at are listed for an admin, and avatars come only from WeChat's hosts."""
