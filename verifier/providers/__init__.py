"""Wire profiles (providers): how evidence is fetched and requests are carried. Each provider is a
package here; :mod:`verifier.providers.registry` names them; :mod:`verifier.providers.base` holds
the types they share."""
