// SPDX-License-Identifier: MIT OR Apache-2.0
// A public resolver with the profiles Status reads (EIP-137 addr, pubkey,
// EIP-1577 contenthash), written for status-rs's loopback tests. Only the
// name's owner in the registry may set its records.
pragma solidity ^0.8.20;

interface IRegistry {
    function owner(bytes32 node) external view returns (address);
}

contract PublicResolver {
    struct PublicKey {
        bytes32 x;
        bytes32 y;
    }

    IRegistry private immutable registry;
    mapping(bytes32 => address) private addrs;
    mapping(bytes32 => PublicKey) private pubkeys;
    mapping(bytes32 => bytes) private hashes;

    event AddrChanged(bytes32 indexed node, address a);
    event PubkeyChanged(bytes32 indexed node, bytes32 x, bytes32 y);
    event ContenthashChanged(bytes32 indexed node, bytes hash);

    modifier authorised(bytes32 node) {
        require(registry.owner(node) == msg.sender, "not the owner");
        _;
    }

    constructor(IRegistry r) {
        registry = r;
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 // EIP-165
            || id == 0x3b3b57de // addr(bytes32)
            || id == 0xc8690233 // pubkey(bytes32)
            || id == 0xbc1c58d1; // contenthash(bytes32), EIP-1577
    }

    function addr(bytes32 node) external view returns (address) {
        return addrs[node];
    }

    function setAddr(bytes32 node, address a) external authorised(node) {
        addrs[node] = a;
        emit AddrChanged(node, a);
    }

    function pubkey(bytes32 node) external view returns (bytes32 x, bytes32 y) {
        return (pubkeys[node].x, pubkeys[node].y);
    }

    function setPubkey(bytes32 node, bytes32 x, bytes32 y) external authorised(node) {
        pubkeys[node] = PublicKey(x, y);
        emit PubkeyChanged(node, x, y);
    }

    function contenthash(bytes32 node) external view returns (bytes memory) {
        return hashes[node];
    }

    function setContenthash(bytes32 node, bytes calldata hash) external authorised(node) {
        hashes[node] = hash;
        emit ContenthashChanged(node, hash);
    }
}
