# pragma version 0.4.3
"""
@title LocalUSDC
@notice A USDC-like ERC-20 with EIP-3009 transferWithAuthorization, for the
        local chain of Gatehouse's payment tests and development setup.
        Same EIP-712 domain shape as Circle's FiatTokenV2 (name, version,
        chainId, verifyingContract) and the same revert strings, so the x402
        SDK maps its failures to its own error codes. Only the deployer mints.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event AuthorizationUsed:
    authorizer: indexed(address)
    nonce: indexed(bytes32)

name: public(String[32])
symbol: public(String[8])
version: public(String[8])
decimals: public(constant(uint8)) = 6
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
authorizationState: public(HashMap[address, HashMap[bytes32, bool]])
minter: public(address)

EIP712_DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
TRANSFER_WITH_AUTHORIZATION_TYPEHASH: constant(bytes32) = keccak256(
    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)
# secp256k1n / 2: signatures with a higher s are malleable copies and refused.
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168


@deploy
def __init__(_name: String[32], _symbol: String[8], _version: String[8]):
    self.name = _name
    self.symbol = _symbol
    self.version = _version
    self.minter = msg.sender


@view
@external
def DOMAIN_SEPARATOR() -> bytes32:
    return self._domain_separator()


@view
@internal
def _domain_separator() -> bytes32:
    return keccak256(
        abi_encode(
            EIP712_DOMAIN_TYPEHASH,
            keccak256(convert(self.name, Bytes[32])),
            keccak256(convert(self.version, Bytes[8])),
            chain.id,
            self,
        )
    )


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "ERC20: transfer to the zero address"
    assert self.balanceOf[sender] >= amount, "ERC20: transfer amount exceeds balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    assert self.allowance[sender][msg.sender] >= amount, "ERC20: transfer amount exceeds allowance"
    self.allowance[sender][msg.sender] -= amount
    self._transfer(sender, receiver, amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == self.minter, "only the minter mints"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def transferWithAuthorization(
    _from: address,
    _to: address,
    _value: uint256,
    _validAfter: uint256,
    _validBefore: uint256,
    _nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    assert block.timestamp > _validAfter, "FiatTokenV2: authorization is not yet valid"
    assert block.timestamp < _validBefore, "FiatTokenV2: authorization is expired"
    assert not self.authorizationState[_from][_nonce], "FiatTokenV2: authorization is used or canceled"
    struct_hash: bytes32 = keccak256(
        abi_encode(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, _from, _to, _value, _validAfter, _validBefore, _nonce
        )
    )
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))
    assert convert(s, uint256) <= HALF_N, "FiatTokenV2: invalid signature"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address) and signer == _from, "FiatTokenV2: invalid signature"
    self.authorizationState[_from][_nonce] = True
    log AuthorizationUsed(authorizer=_from, nonce=_nonce)
    self._transfer(_from, _to, _value)
